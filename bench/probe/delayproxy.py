#!/usr/bin/env python3
"""delayproxy.py LISTEN_ADDR LISTEN_PORT UP_ADDR UP_PORT RTT_MS [SECONDS]

A TCP relay that adds a round-trip time: every chunk is forwarded RTT/2 after
it arrived, in each direction, in order; the first client bytes wait one more
RTT (the TCP handshake a real path would have cost, which the local kernel
completed at once).  A close is forwarded after the same delay.  For the probe
benchmark when the kernel has no tc netem; it exits after SECONDS (default 3600).
"""
import asyncio
import sys
import time


async def pump(reader, writer, delay, first_extra):
    q = asyncio.Queue()

    async def sender():
        while True:
            due, data = await q.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            try:
                writer.write(data)
                await writer.drain()
            except (OSError, RuntimeError):
                return

    task = asyncio.ensure_future(sender())
    extra = first_extra
    try:
        while True:
            data = await reader.read(65536)
            q.put_nowait((time.monotonic() + delay + extra, data if data else None))
            extra = 0.0
            if not data:
                break
    except (OSError, asyncio.IncompleteReadError):
        q.put_nowait((time.monotonic() + delay, None))
    await task


async def handle(cr, cw, up, delay):
    try:
        sr, sw = await asyncio.open_connection(*up)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pump(cr, sw, delay, 2 * delay), pump(sr, cw, delay, 0.0),
                         return_exceptions=True)
    for w in (cw, sw):
        try:
            w.close()
        except OSError:
            pass


async def main():
    la, lp, ua, up, rtt = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    life = float(sys.argv[6]) if len(sys.argv) > 6 else 3600.0
    delay = rtt / 2000.0
    srv = await asyncio.start_server(lambda r, w: handle(r, w, (ua, up), delay), la, lp, backlog=512)
    print("ready", flush=True)
    async with srv:
        await asyncio.sleep(life)


if __name__ == "__main__":
    asyncio.run(main())
