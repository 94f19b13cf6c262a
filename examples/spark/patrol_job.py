#!/usr/bin/env python3
"""Score a JSONL or Parquet dump with patrol inside Spark.

Every partition is streamed through one `patrol scan` subprocess. patrol
writes one result per good input line (in input order) and one error record
per bad line, so input rows == result rows + error rows; the job checks this
at the end and exits with status 1 if it does not hold.

Output: <output>/results (the input's columns, scores_*, labels) and
<output>/errors (raw_line, reason, partition, line), both Parquet.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_MASTER = "local-cluster[2,1,1024]"
SCORE_NAMES = ("recruitment", "drugs", "serious_crime")
# Fields patrol writes itself; an input column with one of these names is dropped.
PATROL_FIELDS = {"scores", "labels", "evidence"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, help="JSONL file/dir, or Parquet with a `text` column")
    p.add_argument("--output", required=True, help="directory for results/ and errors/")
    p.add_argument("--format", choices=("auto", "jsonl", "parquet"), default="auto")
    p.add_argument("--patrol", default="patrol",
                   help="patrol binary: a path that exists on every executor, or a bare name "
                        "looked up first among files shipped with --files, then on PATH")
    p.add_argument("--master", default=None,
                   help=f"Spark master (default {DEFAULT_MASTER}, or whatever spark-submit was given)")
    p.add_argument("--partitions", type=int, default=0,
                   help="partitions to score (default: 2 x the cores of all executors)")
    p.add_argument("--threads-per-task", type=int, default=1,
                   help="patrol --threads for each task's process")
    return p.parse_args(argv)


# ---------------------------------------------------------------- executor side

def resolve_binary(name):
    """The patrol binary as seen from this executor."""
    if os.sep in name:
        return name
    from pyspark import SparkFiles
    try:
        shipped = SparkFiles.get(name)
    except Exception:
        shipped = None
    if shipped and os.path.isfile(shipped):
        if not os.access(shipped, os.X_OK):
            os.chmod(shipped, 0o755)
        return shipped
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"patrol binary {name!r} was neither shipped with --files nor on PATH")


def score_partition(index, rows, patrol, threads):
    """Stream one partition through patrol.

    Yields (kind, partition, line, payload, reason) tuples: ("result", i, None,
    <result JSON>, None) as patrol writes them, then ("error", i, N, <raw line>,
    <reason>) for each error record, N being the 1-based line in this partition.
    The partition is spooled to a local temp file (not kept in memory) so that
    error records can be joined back to their raw line once patrol has exited.
    """
    binary = resolve_binary(patrol)
    with tempfile.TemporaryDirectory(prefix="patrol-task-") as tmp:
        errors_path = os.path.join(tmp, "errors.jsonl")
        cmd = [binary, "scan", "--format", "jsonl", "--keep-fields", "--quiet",
               "--threads", str(threads), "--errors", errors_path, "-"]
        with open(os.path.join(tmp, "stderr"), "w+b") as stderr, \
                open(os.path.join(tmp, "input.jsonl"), "w+b") as spool:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
            fed, failure = [0], []

            def feed():
                try:
                    for row in rows:
                        data = bytes(row[0]) + b"\n"
                        spool.write(data)
                        proc.stdin.write(data)
                        fed[0] += 1
                except BrokenPipeError:
                    pass  # patrol died; its exit status is reported below
                except BaseException as e:  # an upstream failure: re-raised in the task
                    failure.append(e)
                finally:
                    try:
                        proc.stdin.close()
                    except BrokenPipeError:
                        pass

            feeder = threading.Thread(target=feed, name=f"patrol-feed-{index}", daemon=True)
            feeder.start()
            try:
                results = 0
                for out in proc.stdout:
                    results += 1
                    yield ("result", index, None, out.decode("utf-8"), None)
                feeder.join()
                rc = proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if failure:
                raise failure[0]
            if rc not in (0, 1):  # 1 only means some lines were error records
                stderr.seek(0)
                tail = stderr.read()[-2000:].decode("utf-8", "replace")
                raise RuntimeError(f"patrol exited with status {rc} on partition {index}: {tail}")

            reasons = {}
            if os.path.exists(errors_path):
                with open(errors_path, encoding="utf-8") as f:
                    for rec in map(json.loads, f):
                        reasons[rec["line"]] = rec["reason"]
            if results + len(reasons) != fed[0]:
                print(f"patrol_job: partition {index}: {fed[0]} lines in, {results} results + "
                      f"{len(reasons)} errors out", file=sys.stderr)
            spool.flush()
            spool.seek(0)
            for n, raw in enumerate(spool, 1):
                if n in reasons:
                    line = raw[:-1].decode("utf-8", "replace")
                    yield ("error", index, n, line, reasons[n])


# ------------------------------------------------------------------ driver side

def detect_format(path):
    if path.rstrip("/").endswith(".parquet"):
        return "parquet"
    if os.path.isdir(path) and any(n.endswith(".parquet") for n in os.listdir(path)):
        return "parquet"
    return "jsonl"


def build_session(master):
    from pyspark.sql import SparkSession
    # Under spark-submit (which sets PYSPARK_GATEWAY_PORT) keep its --master.
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = DEFAULT_MASTER
    builder = SparkSession.builder.appName("patrol")
    if master:
        builder = builder.master(master)
    if master and master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1") \
                         .config("spark.driver.bindAddress", "127.0.0.1")
    if master and master.startswith("local-cluster"):
        # local-cluster[N,cores,MB]: an executor may not ask for more than its worker's MB.
        worker_mb = int(master.rstrip("]").split(",")[-1])
        builder = builder.config("spark.executor.memory", f"{min(768, worker_mb)}m")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def read_input(spark, path, fmt):
    """(one binary `value` column of JSON lines, the schema of the input's fields)."""
    from pyspark.sql import functions as F
    if fmt == "parquet":
        df = spark.read.parquet(path)
        if "text" not in df.columns:
            sys.exit(f"patrol_job: {path} has no `text` column")
        lines = df.select(F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns]))
                          .cast("binary").alias("value"))
        return lines, df.schema
    # Split on \n only, as patrol does (Spark's default also splits on a lone \r),
    # and cast to binary so that invalid UTF-8 reaches patrol unchanged.
    lines = spark.read.option("lineSep", "\n").text(path).select(F.col("value").cast("binary"))
    schema = spark.read.option("lineSep", "\n").json(path).schema
    return lines, schema


def main(argv=None):
    args = parse_args(argv)
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import (ArrayType, DoubleType, IntegerType, LongType, StringType,
                                   StructField, StructType)

    spark = build_session(args.master)
    sc = spark.sparkContext
    started = time.time()

    fmt = detect_format(args.input) if args.format == "auto" else args.format
    lines, input_schema = read_input(spark, args.input, fmt)
    partitions = args.partitions or 2 * sc.defaultParallelism
    lines = lines.repartition(partitions)

    patrol, threads = args.patrol, args.threads_per_task
    tagged_rdd = lines.rdd.mapPartitionsWithIndex(
        lambda i, rows: score_partition(i, rows, patrol, threads))
    tagged_schema = StructType([
        StructField("kind", StringType(), False),
        StructField("partition", IntegerType(), False),
        StructField("line", LongType(), True),
        StructField("payload", StringType(), False),
        StructField("reason", StringType(), True),
    ])
    # Cached so that writing results and errors runs patrol only once.
    tagged = spark.createDataFrame(tagged_rdd, tagged_schema).persist(StorageLevel.DISK_ONLY)

    kept = [f for f in input_schema.fields
            if f.name not in PATROL_FIELDS and f.name != "_corrupt_record"]
    result_schema = StructType(kept + [
        StructField("scores", StructType([StructField(n, DoubleType()) for n in SCORE_NAMES])),
        StructField("labels", ArrayType(StringType())),
    ])
    r = F.col("r")
    results = (tagged.where(F.col("kind") == "result")
               .select(F.from_json("payload", result_schema).alias("r"))
               .select(*[r[f.name].alias(f.name) for f in kept],
                       *[r["scores"][n].alias(f"scores_{n}") for n in SCORE_NAMES],
                       r["labels"].alias("labels")))
    errors = (tagged.where(F.col("kind") == "error")
              .select(F.col("payload").alias("raw_line"), "reason", "partition", "line"))

    results_dir = os.path.join(args.output, "results")
    errors_dir = os.path.join(args.output, "errors")
    results.write.mode("overwrite").parquet(results_dir)
    scored = time.time()
    errors.write.mode("overwrite").parquet(errors_dir)
    tagged.unpersist()

    n_input = lines.count()
    n_results = spark.read.parquet(results_dir).count()
    n_errors = spark.read.parquet(errors_dir).count()
    seconds = time.time() - started
    executors = sc._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
    ok = n_input == n_results + n_errors
    print(f"patrol_job: input={n_input} results={n_results} errors={n_errors} "
          f"executors={executors} partitions={partitions} seconds={seconds:.1f} "
          f"rows_per_s={n_input / seconds:.0f} scoring_s={scored - started:.1f} "
          f"check={'ok' if ok else 'MISMATCH'}")
    spark.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
