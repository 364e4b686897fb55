#!/usr/bin/python3
# A hand-written Python CGI: print the header and the body, nothing imported.
import sys

sys.stdout.write("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nHello")
