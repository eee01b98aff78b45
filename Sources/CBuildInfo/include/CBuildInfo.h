// What the build stamped into the binaries: the version from the VERSION file
// at the top of the repository, or ROOMD_VERSION in the build's environment
// (scripts/package sets it with the git commit).
#ifndef ROOMD_CBUILDINFO_H
#define ROOMD_CBUILDINFO_H

const char *roomd_version(void);

#endif
