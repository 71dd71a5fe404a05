#include "ckpt/control.h"
