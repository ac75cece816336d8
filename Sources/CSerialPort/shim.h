// CSerialPort: libserialport 0.1.x. Imported only by Hardware.
#include <libserialport.h>
