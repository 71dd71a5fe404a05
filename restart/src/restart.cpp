#include "restart/restart.h"
