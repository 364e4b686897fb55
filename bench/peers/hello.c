/* The floor: a CGI that is one write(2) and exit. */
#include <stdio.h>

int main(void) {
  fputs("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nHello", stdout);
  return 0;
}
