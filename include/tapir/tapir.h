/* tapir — a hackable userspace TCP/IP stack.  Include this for everything. */
#ifndef TAPIR_TAPIR_H
#define TAPIR_TAPIR_H
#define TAPIR_VERSION "0.1.0"
#include <tapir/addr.h>
#include <tapir/profile.h>
#include <tapir/stack.h>
#include <tapir/wire.h>
#include <tapir/link.h>
#include <tapir/udp.h>
#include <tapir/dhcp.h>
#include <tapir/tcp.h>
#include <tapir/hook.h>
#endif
