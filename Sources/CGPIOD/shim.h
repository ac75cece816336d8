// CGPIOD: libgpiod 1.6 (Debian 12's version; the 2.x API differs). Imported only by Hardware.
#include <gpiod.h>
