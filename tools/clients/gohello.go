// gohello: crypto/tls defaults (tls.Config with only ServerName set), so that
// tools/capture-hello.py records Go's default ClientHello.
package main

import (
	"crypto/tls"
	"fmt"
	"os"
)

func main() {
	c, err := tls.Dial("tcp", "127.0.0.1:"+os.Args[1], &tls.Config{ServerName: os.Args[2]})
	if err == nil {
		c.Close()
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
}
