#!/usr/bin/env python3
"""delayproxy.py LISTEN_HOST LISTEN_PORT UP_HOST UP_PORT ONE_WAY_MS

A TCP proxy that adds ONE_WAY_MS to every chunk in each direction, and holds
a new connection's first bytes for 2 * ONE_WAY_MS (the round trip of the TCP
handshake the client did not wait for): each client sees about 2 * ONE_WAY_MS
more round-trip time, as with tc netem (not available in every kernel)."""
import asyncio, sys

lh, lp, uh, up, ms = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]) / 1000

async def pump(reader, writer, first_delay):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    start = loop.time() + first_delay

    async def sender():
        while True:
            due, data = await q.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            try:
                await writer.drain()
            except OSError:
                return

    task = asyncio.create_task(sender())
    try:
        while True:
            data = await reader.read(65536)
            due = max(loop.time(), start) + ms
            if not data:
                await q.put((due, None))
                break
            await q.put((due, data))
    except OSError:
        await q.put((loop.time(), None))
    await task

async def handle(cr, cw):
    try:
        ur, uw = await asyncio.open_connection(uh, up)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pump(cr, uw, 2 * ms), pump(ur, cw, 0), return_exceptions=True)
    for w in (uw, cw):
        w.close()

async def main():
    srv = await asyncio.start_server(handle, lh, lp, backlog=256)
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
