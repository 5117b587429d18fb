import raftos, asyncio

PORT, NODE_ID = 8002, 3
TASK_NO = 1 + 2
HOST = "127.0.0.1"
CLUSTER = [HOST + ":" + str(p) for p in (8000, 8001)]

try:
    raftos.configure({'log_path': './', 'serializer': raftos.serializers.JSONSerializer})
except AttributeError:
    raftos.configure({'log_path': './'})
loop = asyncio.get_event_loop()
loop.create_task(
    raftos.register(
        f'{HOST}:{PORT}',  # this node
        cluster=CLUSTER,   # the two others
    )
)
with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'w') as f: pass

async def run(loop):
    data_id = raftos.Replicated(name='data_id')
    while raftos.get_leader() != f'{HOST}:{PORT}':
        await asyncio.sleep(5)
        with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'a') as f:
            leader = raftos.get_leader()
            f.write(f'LEADER => {leader}\n')
        await asyncio.sleep(5)
        with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'a') as f:
            f.write(f'LEADER -> {NODE_ID}\n'); await data_id.set(NODE_ID); f.write('done writing data_id\n')
        with open(f'task{TASK_NO}_node{NODE_ID}.txt', 'a') as f:
            f.write('done writing data\n')
            await asyncio.sleep(2)
            print('done')

loop.run_until_complete(run(loop))
