import raftos
import asyncio

PORT = 8000      # copied from 1.py ...
NODE_ID = 1
BASE = 8000
PORT = BASE + 1  # ... and changed: the last assignment wins
NODE_ID = PORT - BASE + 1
TASK_NO = 3
# PORT = 9999   (a comment is not an assignment)
NOTE = "PORT = 9999 in a string is not one either"
other_nodes = [i for i in [8000, 8001, 8002] if i != PORT]

raftos.configure({'log_path': './', 'serializer': raftos.serializers.JSONSerializer})
loop = asyncio.get_event_loop()
loop.create_task(raftos.register('127.0.0.1:' + str(PORT), cluster=['127.0.0.1:8000', '127.0.0.1:8002']))

with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'w') as f:
    pass


class Settings:
    PORT = 1234  # a class attribute, not the module's PORT


async def run(loop):
    PORT = 4321  # a local, not the module's PORT
    data_id = raftos.Replicated(name='data_id')
    while raftos.get_leader() != f'127.0.0.1:{8001}':
        await asyncio.sleep(5)
        with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'a') as f:
            leader = raftos.get_leader()
            f.write(f'LEADER => {leader}\n')
        await asyncio.sleep(5)
        with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'a') as f:
            f.write(f'LEADER -> {NODE_ID}\n')
            await data_id.set(NODE_ID)
            f.write('done writing data_id\n')
        with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'a') as f:
            f.write('done writing data\n')
            await asyncio.sleep(2)
            print('done')

loop.run_until_complete(run(loop))
