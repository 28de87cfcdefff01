/* libsodium for Swift (Debian: libsodium-dev): the sealed boxes GitHub requires for Actions secrets. */
#ifndef RESPOND_CSODIUM_SHIM_H
#define RESPOND_CSODIUM_SHIM_H

#include <sodium.h>

#endif
