// Go's net/http/fcgi hello world, the other languages' anchor of the persistent-mode bench:
// a FastCGI responder on the TCP address given as the only argument.
package main

import (
	"log"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
)

func main() {
	listener, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.Write([]byte("Hello"))
	})
	log.Fatal(fcgi.Serve(listener, hello))
}
