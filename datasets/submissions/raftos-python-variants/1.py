import asyncio
import raftos

# Node 1 of 3. The grader reads this file as Python: comments, tabs and CRLF are fine.
PORT = 8000  # node 1
NODE_ID = 1; TASK_NO = 3


def other(port):
	PORT = 1  # a function's own variable, not the module's
	return port


if __name__ == "__main__":
	cluster_ports = [i for i in [8000, 8001, 8002] if i != PORT]
	raftos.configure({
		"log_path": "./",
		"serializer": raftos.serializers.JSONSerializer,
	})
	loop = asyncio.get_event_loop()
	loop.create_task(raftos.register(f"127.0.0.1:{PORT}", cluster=[f"127.0.0.1:{p}" for p in cluster_ports]))

	with open(f"task{TASK_NO}_node{NODE_ID}.txt", "w") as f:
		pass

	async def run(loop):
		data_id = raftos.Replicated(name="data_id")
		while raftos.get_leader() != f"127.0.0.1:{PORT}":
			await asyncio.sleep(5)
			with open(f"task{TASK_NO}_node{NODE_ID}.txt", "a") as f:
				leader = raftos.get_leader()
				f.write(f"LEADER => {leader}\n")
			await asyncio.sleep(5)
			with open(f"task{TASK_NO}_node{NODE_ID}.txt", "a") as f:
				f.write(f"LEADER -> {NODE_ID}\n")
				await data_id.set(NODE_ID)
				f.write("done writing data_id\n")
			with open(f"task{TASK_NO}_node{NODE_ID}.txt", "a") as f:
				f.write("done writing data\n")
				await asyncio.sleep(2)
				print("done")

	loop.run_until_complete(run(loop))
