import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.TimeUtils;

/**
 * A Flink job as its users write one: a bounded source of `--records` numbers, a map counting them in a user counter
 * (`recordsMapped`), a sink. It runs in a local MiniCluster (`--parallelism` subtasks per operator); every other
 * argument is a Flink option `key=value` (the reporter's, as apps/relay/README.md shows them), set as given.
 *
 * Usage: java -cp <classes>:<libs>/* FlinkCountJob --records N [--parallelism P] [--job NAME] [--fail-after K] [key=value ...]
 *
 * `--fail-after K`: the first attempt of every map subtask fails once it counted K records (after waiting, as at the
 * end, for its counts to be reported); Flink restarts it (fixed-delay restart strategy) and the new attempt, with new
 * `task_attempt_id`/`task_attempt_num` labels, reads its input from the start again (no checkpoints).
 *
 * The reporter pushes every `interval` and not when a task ends: a task's metrics are unregistered as it finishes, so
 * a bounded job that ends between two reports never reports its last counts. The map therefore waits, once its input
 * ended, for three reporter intervals and at least 5 s (its counters final) before it closes: what a long-running
 * streaming job does anyway.
 */
public final class FlinkCountJob {

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    Configuration conf = new Configuration();
    for (int i = 0; i < args.length; i++) {
      if (args[i].startsWith("--") && i + 1 < args.length) {
        a.put(args[i].substring(2), args[++i]);
      } else if (args[i].indexOf('=') > 0) {
        int eq = args[i].indexOf('=');
        conf.setString(args[i].substring(0, eq).trim(), args[i].substring(eq + 1).trim());
      } else {
        throw new IllegalArgumentException("expected --name value or key=value, got " + args[i]);
      }
    }
    long records = Long.parseLong(required(a, "records"));
    long failAfter = Long.parseLong(a.getOrDefault("fail-after", "0"));
    if (failAfter > 0) {
      conf.setString("restart-strategy.type", "fixed-delay");
      conf.setString("restart-strategy.fixed-delay.attempts", "3");
      conf.setString("restart-strategy.fixed-delay.delay", "100 ms");
    }
    int parallelism = Integer.parseInt(a.getOrDefault("parallelism", "1"));
    String interval = conf.toMap().getOrDefault("metrics.reporter.prom.interval", "10 s");
    // Two reports at least, and time for a slow one (each PUT waits for the Pushgateway's answer) on a busy machine.
    long holdMs = Math.max(5_000, 3 * TimeUtils.parseDuration(interval).toMillis());

    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
    env.fromSequence(1, records)
        .name("numbers")
        .map(new CountingMap(holdMs, failAfter))
        .name("count")
        .sinkTo(new DiscardingSink<>())
        .name("discard");
    env.execute(a.getOrDefault("job", "count-records"));
  }

  /**
   * Counts every record in the user counter `recordsMapped`; waits `holdMs` in close so the last counts are reported.
   * With `failAfter`, a first attempt fails at its `failAfter`-th record, once that count was reported.
   */
  static final class CountingMap extends RichMapFunction<Long, Long> {
    private final long holdMs;
    private final long failAfter;
    private transient Counter counter;

    CountingMap(long holdMs, long failAfter) {
      this.holdMs = holdMs;
      this.failAfter = failAfter;
    }

    @Override
    public void open(OpenContext context) {
      counter = getRuntimeContext().getMetricGroup().counter("recordsMapped");
    }

    @Override
    public Long map(Long value) throws Exception {
      counter.inc();
      if (failAfter > 0 && counter.getCount() == failAfter && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0) {
        Thread.sleep(holdMs);
        throw new IllegalStateException("planned failure of attempt 0 after " + failAfter + " records (--fail-after)");
      }
      return value;
    }

    @Override
    public void close() throws Exception {
      Thread.sleep(holdMs);
      super.close();
    }
  }

  private static String required(Map<String, String> a, String name) {
    String v = a.get(name);
    if (v == null) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }
}
