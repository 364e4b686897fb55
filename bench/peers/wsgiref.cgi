#!/usr/bin/python3
# A WSGI app served by the standard library's wsgiref.handlers.CGIHandler.
from wsgiref.handlers import CGIHandler


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello"]


CGIHandler().run(app)
