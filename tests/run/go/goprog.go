// goprog: a Go program for tests/run/run_go.sh.  Go's runtime makes its
// socket calls as raw system calls (no libc, even when dynamically linked),
// and its netpoller uses non-blocking sockets and epoll, so under tapir run
// only the seccomp supervisor can carry them (docs/seccomp.md).
//
//	goprog get URL OUT        net/http GET, the body to OUT, the local address to stderr
//	goprog serve PORT DIR N   net/http file server on :PORT (Go's dual-stack
//	                          AF_INET6 listener); exits after N requests
//	goprog refused HOST:PORT  a dial that must fail with ECONNREFUSED
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
)

func die(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "goprog: "+f+"\n", a...)
	os.Exit(1)
}

func get(url, out string) {
	// the connection's local address, as getsockname gives it
	tr := &http.Transport{DialContext: func(ctx context.Context, nw, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, nw, addr)
		if err == nil {
			fmt.Fprintf(os.Stderr, "local %s\n", c.LocalAddr())
		}
		return c, err
	}}
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		die("get: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		die("get: status %d", resp.StatusCode)
	}
	f, err := os.Create(out)
	if err != nil {
		die("%v", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		die("get: body: %v", err)
	}
	f.Close()
}

func serve(port, dir string, n int) {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		die("listen: %v", err)
	}
	fmt.Fprintf(os.Stderr, "listening %s\n", ln.Addr())
	done := make(chan struct{}, n)
	files := http.FileServer(http.Dir(dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "peer %s\n", r.RemoteAddr)
		files.ServeHTTP(w, r)
		done <- struct{}{}
	})
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	for i := 0; i < n; i++ {
		<-done
	}
	srv.Shutdown(context.Background())
}

func refused(addr string) {
	_, err := net.Dial("tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		die("dial %s: %v, not ECONNREFUSED", addr, err)
	}
	fmt.Fprintf(os.Stderr, "refused %s\n", addr)
}

func main() {
	a := os.Args
	switch {
	case len(a) == 4 && a[1] == "get":
		get(a[2], a[3])
	case len(a) == 5 && a[1] == "serve":
		n, err := strconv.Atoi(a[4])
		if err != nil {
			die("serve: N: %v", err)
		}
		serve(a[2], a[3], n)
	case len(a) == 3 && a[1] == "refused":
		refused(a[2])
	default:
		die("usage: goprog get URL OUT | serve PORT DIR N | refused HOST:PORT")
	}
}
