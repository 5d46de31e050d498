#!/usr/bin/env python3
"""Host side of bench/net: raw Ethernet frames on an interface (AF_PACKET), in the layout of
the nettest guest (ethertype, 4-byte sequence number, a kind byte, a pattern).
  pkt.py sink IFACE SECONDS   counts bench frames (0x88b6) until a stop frame
  pkt.py blast IFACE N        sends N full-size bench frames, then stop frames
  pkt.py echo IFACE SECONDS   answers test frames (0x88b5, kind P) as nettest's pair b does
  pkt.py ping IFACE N         N round trips of test frames, one at a time
Each prints one line of figures. Every loop is bounded in count and time."""
import socket, struct, sys, time

BENCH, TEST = 0x88b6, 0x88b5
BCAST = b'\xff' * 6
SO_RCVBUFFORCE = getattr(socket, 'SO_RCVBUFFORCE', 33)  # Linux's number


def open_if(iface, proto):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((iface, proto))
    return s, s.getsockname()[4]


def frame_len(seq):
    return 60 + (seq * 97) % 1455


def test_frame(dst, src, seq, kind):
    n = frame_len(seq)
    body = bytes(((i * 31 + seq * 7) & 0xff) for i in range(19, n))
    return dst + src + struct.pack('!H', TEST) + struct.pack('<I', seq) + kind + body


def sink(iface, seconds):
    s, _ = open_if(iface, BENCH)
    # Room for a burst: with the default buffer (~200 KiB) a sender faster than this Python
    # loop lost most of its frames in the socket, and the row measured the loop.
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)  # root: past rmem_max
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.settimeout(0.2)
    frames = nbytes = 0
    first = last = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            f = s.recv(65536)
        except socket.timeout:
            continue
        if len(f) < 19:
            continue
        if f[18:19] == b'S' and frames:
            break
        if f[18:19] != b'D':
            continue
        last = time.monotonic()
        first = first or last
        frames += 1
        nbytes += len(f)
    print('sink %d frames %d bytes in %d us' % (frames, nbytes, (last - first) * 1e6))


def blast(iface, n):
    s, mac = open_if(iface, BENCH)
    base = BCAST + mac + struct.pack('!H', BENCH)
    pad = bytes(1514 - 19)
    t0 = time.monotonic()
    for i in range(n):
        s.send(base + struct.pack('<I', i) + b'D' + pad)
    t1 = time.monotonic()
    for _ in range(20):
        s.send(base + struct.pack('<I', 0) + b'S' + bytes(41))
        time.sleep(0.01)
    print('blast %d frames of 1514 bytes in %d us' % (n, (t1 - t0) * 1e6))


def echo(iface, seconds):
    s, mac = open_if(iface, TEST)
    s.settimeout(0.2)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            f = s.recv(65536)
        except socket.timeout:
            continue
        if len(f) < 19 or f[6:12] == mac:
            continue
        if f[18:19] == b'S':
            break
        if f[18:19] == b'P':
            s.send(f[6:12] + mac + f[12:18] + b'E' + f[19:])
            n += 1
    print('echo %d frames' % n)


def ping(iface, n):
    s, mac = open_if(iface, TEST)
    s.settimeout(0.5)
    done = 0
    # Built before the clock starts: building one in Python costs ~80 us, as much as a trip.
    frames = [test_frame(BCAST, mac, seq, b'P') for seq in range(n)]
    t0 = time.monotonic()
    for seq in range(n):
        out = frames[seq]
        for _ in range(20):
            s.send(out)
            try:
                f = s.recv(65536)
            except socket.timeout:
                continue
            if f[18:19] == b'E' and struct.unpack('<I', f[14:18])[0] == seq and f[19:] == out[19:]:
                done += 1
                break
    t1 = time.monotonic()
    for _ in range(5):
        s.send(test_frame(BCAST, mac, 0, b'S'))
    print('ping %d round trips in %d us' % (done, (t1 - t0) * 1e6))


if __name__ == '__main__':
    mode, iface, arg = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {'sink': sink, 'blast': blast, 'echo': echo, 'ping': ping}[mode](iface, arg)
