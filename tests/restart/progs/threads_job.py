# Python threads: three threads take turns under one threading.Condition,
# each folding numbers into its own checksum and appending one line per step
# to OUT (the turn order makes the file deterministic); the main thread waits
# in join(). A checkpoint mid-run has to carry every thread, the GIL and the
# condition variable.
import sys
import threading
import time

STEPS = 50
NAMES = ("a", "b", "c")


def main(path):
    cond = threading.Condition()
    turn = [0]
    out = open(path, "w")

    def worker(k):
        acc = k + 1
        for step in range(STEPS):
            for i in range(3000):
                acc = (acc * 6364136223846793005 + i + step) % (1 << 64)
            with cond:
                cond.wait_for(lambda: turn[0] % len(NAMES) == k)
                out.write(f"{NAMES[k]} step {step:03d} acc {acc:016x}\n")
                out.flush()
                turn[0] += 1
                cond.notify_all()
            time.sleep(0.04)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(NAMES))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.write(f"done after {turn[0]} turns\n")
    out.close()


if __name__ == "__main__":
    main(sys.argv[1])
