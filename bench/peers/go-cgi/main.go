// Go's standard CGI child: net/http/cgi.Serve with a plain handler.
package main

import (
	"io"
	"net/http"
	"net/http/cgi"
)

func main() {
	cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello")
	}))
}
