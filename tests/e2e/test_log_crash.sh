# The event log's crash test: a producer (`mlpipe produce --verbose` on a
# topic with flush.messages=1) is killed with SIGKILL at random moments,
# round after round. It prints "partition offset" for each record once its
# batch is acknowledged; after every kill the log must reopen cleanly, and
# every acknowledged offset must hold exactly the bytes of its line, with
# offsets contiguous and no record twice. Rounds, time budget and seed:
# LOG_CRASH_ROUNDS (30), LOG_CRASH_SECONDS (45), LOG_CRASH_SEED (random,
# printed so a failure can be replayed).
. "$(dirname "$0")/lib.sh"
# lib.sh removes $T on exit; make a signal end the script through that too.
trap 'exit 1' INT TERM HUP
D=$T/data

expect_exit 0 "create the topic" -- "$MLPIPE" topic create crash --partitions 2 --data-dir "$D" \
    --config flush.messages=1 --config segment.bytes=262144
python3 - "$MLPIPE" "$D" "$T" <<'PY' && ok || bad "crash rounds (see above)"
import ctypes, os, random, signal, subprocess, sys, threading, time

mlpipe, data_dir, tmp = sys.argv[1:4]
rounds = int(os.environ.get("LOG_CRASH_ROUNDS", "30"))
budget = float(os.environ.get("LOG_CRASH_SECONDS", "45"))
seed = int(os.environ.get("LOG_CRASH_SEED", str(time.time_ns() % 1000000007)))
rng = random.Random(seed)
print("log crash test: seed %d, up to %d rounds in %.0f s" % (seed, rounds, budget))
libc = ctypes.CDLL(None, use_errno=True)


def die_with_us():
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive this driver


def line(r, i):
    """Line i of round r: unique, of varying length, sometimes long."""
    n = 3000 if i % 211 == 0 else (r * 7919 + i * 31) % 180
    return b"r%02d-%06d-" % (r, i) + bytes(97 + (r + i + j) % 26 for j in range(n))


def run(args, timeout=30):
    p = subprocess.run([mlpipe] + args + ["--data-dir", data_dir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, preexec_fn=die_with_us)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def describe():
    rc, out, err = run(["topic", "describe", "crash"])
    if rc != 0:
        raise AssertionError("reopen after the kill failed: exit %d: %s" % (rc, err))
    latest, torn = {}, 0
    for l in out.decode().split("\n"):
        f = l.split()
        if len(f) == 5 and f[0].isdigit():
            latest[int(f[0])] = int(f[2])
            assert int(f[1]) == 0, "earliest moved: " + l
        if l.startswith("note:") and "truncated" in l:
            torn += 1
    assert sorted(latest) == [0, 1], out
    return latest, torn


def consume(partition, offset):
    rc, out, err = run(["consume", "crash", "--partition", str(partition), "--offset", str(offset),
                        "--print-offset"], timeout=60)
    if rc != 0:
        raise AssertionError("consume crash-%d from %d failed: exit %d: %s" % (partition, offset, rc, err))
    recs = []
    for l in out.split(b"\n")[:-1]:
        o, v = l.split(b"\t", 1)
        recs.append((int(o), v))
    return recs


acked = {}           # (partition, offset) -> line bytes, over all rounds
start = {0: 0, 1: 0}
t_end = time.monotonic() + budget
stats = {"rounds": 0, "acked": 0, "written": 0, "torn": 0}
for r in range(rounds):
    if time.monotonic() > t_end - 3:
        break
    acks_path = os.path.join(tmp, "acks")
    with open(acks_path, "wb") as acks, open(os.path.join(tmp, "perr"), "wb") as perr:
        p = subprocess.Popen([mlpipe, "produce", "crash", "--data-dir", data_dir, "--verbose"],
                             stdin=subprocess.PIPE, stdout=acks, stderr=perr, preexec_fn=die_with_us)
        stop = threading.Event()

        def feed():
            # Bursts of lines at a bounded rate: batches of many sizes.
            i = 0
            try:
                while not stop.is_set() and i < 60000:
                    k = rng_feed.randrange(1, 400)
                    p.stdin.write(b"".join(line(r, j) + b"\n" for j in range(i, i + k)))
                    p.stdin.flush()
                    i += k
                    time.sleep(rng_feed.random() * 0.004)
            except (BrokenPipeError, ValueError, OSError):
                pass

        rng_feed = random.Random(rng.random())
        t = threading.Thread(target=feed)
        t.start()
        time.sleep(rng.uniform(0.0, 0.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        stop.set()
        t.join()
        try:
            p.stdin.close()
        except OSError:
            pass
    # Acknowledged: the complete lines printed before the kill, in input order.
    raw = open(acks_path, "rb").read()
    ack_lines = raw.split(b"\n")[:-1]
    this_round = {}
    for i, a in enumerate(ack_lines):
        part, off = (int(x) for x in a.split())
        assert (part, off) not in acked and (part, off) not in this_round, \
            "round %d: offset %d-%d acknowledged twice" % (r, part, off)
        this_round[(part, off)] = line(r, i)
    latest, torn = describe()
    stats["torn"] += torn
    for (part, off), v in this_round.items():
        assert off < latest[part], "round %d: acknowledged %d-%d is past the end %d" % (r, part, off, latest[part])
    # This round's records: contiguous from the previous end, whole lines of
    # this round, each line at most once, every acknowledged one in place.
    seen = set()
    for part in (0, 1):
        recs = consume(part, start[part])
        offs = [o for o, _ in recs]
        assert offs == list(range(start[part], latest[part])), \
            "round %d: crash-%d offsets not contiguous %d..%d: %s" % (r, part, start[part], latest[part], offs[:20])
        for o, v in recs:
            tag = v[:11]
            assert tag.startswith(b"r%02d-" % r), "round %d: crash-%d@%d holds a foreign record %r" % (r, part, o, v[:40])
            i = int(tag[4:10])
            assert v == line(r, i), "round %d: crash-%d@%d: bytes differ from line %d" % (r, part, o, i)
            assert i not in seen, "round %d: line %d stored twice" % (r, i)
            seen.add(i)
            if (part, o) in this_round:
                assert this_round[(part, o)] == v, "round %d: acknowledged crash-%d@%d holds another line" % (r, part, o)
        stats["written"] += len(recs)
    for (part, off) in this_round:
        assert start[part] <= off, "round %d: acknowledged %d-%d below the round's start" % (r, part, off)
    acked.update(this_round)
    stats["acked"] += len(this_round)
    stats["rounds"] += 1
    start = latest

# Everything once more, from the beginning, after all the crashes.
for part in (0, 1):
    recs = consume(part, 0)
    assert [o for o, _ in recs] == list(range(start[part])), "final crash-%d offsets not contiguous" % part
    got = dict(recs)
    for (p2, off), v in acked.items():
        if p2 == part:
            assert got.get(off) == v, "final: acknowledged crash-%d@%d lost or altered" % (part, off)
assert stats["rounds"] >= min(rounds, 10), "only %d rounds ran in the time budget" % stats["rounds"]
print("log crash test: %(rounds)d rounds, %(acked)d records acknowledged, %(written)d written, "
      "%(torn)d torn tails truncated on reopen" % stats)
PY
finish
