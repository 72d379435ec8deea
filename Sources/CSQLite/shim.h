#ifndef PIPSQUEAK_CSQLITE_SHIM_H
#define PIPSQUEAK_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
