"""A write to a closed tab is logged quietly; any other task's failure still reaches the loop's handler."""
import asyncio
import gc
import threading

from tornado.websocket import WebSocketClosedError

from explorer.closed_tabs import quiet_closed_tab_writes


async def _fail(error):
    raise error


def test_only_closed_tab_writes_are_quieted():
    loop = asyncio.new_event_loop()
    reported = []
    loop.set_exception_handler(lambda loop, context: reported.append(type(context.get("exception"))))
    quiet_closed_tab_writes(loop)
    quiet_closed_tab_writes(loop)  # once per loop: the handler is not wrapped twice

    async def main():
        for error in (WebSocketClosedError(), ValueError("a real one")):
            task = loop.create_task(_fail(error))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            del task  # never retrieved: asyncio reports it when the task is collected
            gc.collect()
    def run():  # on a thread of its own: another test's loop may still be set as running on this one
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert reported == [ValueError]
