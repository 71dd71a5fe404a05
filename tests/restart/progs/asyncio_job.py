# A single-threaded asyncio program doing deterministic work: three workers
# take turns (asyncio.sleep) folding numbers into running checksums and append
# one line per step to OUT. Its event loop holds an epoll instance and a
# socketpair (the loop's self-pipe), so a checkpoint mid-run has to carry both.
import asyncio
import sys

STEPS = 60


async def worker(name, seed, out, state):
    acc = seed
    for step in range(STEPS):
        for i in range(2000):
            acc = (acc * 6364136223846793005 + i + step) % (1 << 64)
        state[name] = acc
        out.write(f"{name} step {step:03d} acc {acc:016x}\n")
        out.flush()
        await asyncio.sleep(0.02)
    return acc


async def main(path):
    state = {}
    with open(path, "w") as out:
        results = await asyncio.gather(*(worker(n, s, out, state) for n, s in (("a", 1), ("b", 2), ("c", 3))))
        total = 0
        for r in results:
            total ^= r
        out.write(f"done {total:016x}\n")


asyncio.run(main(sys.argv[1]))
