#ifndef PIPSQUEAK_CSYS_H
#define PIPSQUEAK_CSYS_H
/// C helpers for calls Swift cannot import directly (variadic prctl).
int pipsqueak_set_child_subreaper(void);
#endif
