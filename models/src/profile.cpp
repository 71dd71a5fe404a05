#include "models/profile.h"
