#include "CBuildInfo.h"

#ifndef ROOMD_VERSION
#define ROOMD_VERSION "unknown"
#endif

const char *roomd_version(void) {
    return ROOMD_VERSION;
}
