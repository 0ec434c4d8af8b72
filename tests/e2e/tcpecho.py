#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TCP across the mesh, one connection at a time, for the policy checks (run inside a namespace).

    tcpecho.py serve ADDR PORT...      echo every connection on each port, until killed
    tcpecho.py client ADDR PORT        connect (2 s), then for each line on stdin ("ping") send it
                                       and print "ok" when the echo comes back within 2 s, else
                                       "fail"; prints "connected" or "refused" first
"""
import socket
import sys
import threading


def serve(addr, ports):
    def echo(conn):
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(data)

    def listen(port):
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(16)
        while True:
            conn, _ = s.accept()
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    for p in ports:
        threading.Thread(target=listen, args=(p,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def client(addr, port):
    try:
        s = socket.create_connection((addr, port), timeout=2)
    except OSError:
        print("refused", flush=True)
        return
    print("connected", flush=True)
    for line in sys.stdin:
        try:
            s.sendall(line.encode())
            got = b""
            while not got.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("closed")
                got += chunk
            print("ok", flush=True)
        except OSError:
            print("fail", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], [int(p) for p in sys.argv[3:]])
    else:
        client(sys.argv[2], int(sys.argv[3]))
