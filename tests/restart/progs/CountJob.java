// A Java job for the restart tests (run with -Xint): folds numbers and writes
// one line per step to OUT. The JVM installs its own SIGQUIT handler (thread
// dumps) and blocks SIGQUIT in all threads but one; the library's guard keeps
// the checkpoint signal ours.   java -Xint -cp DIR CountJob OUT
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;

public class CountJob {
  public static void main(String[] args) throws IOException, InterruptedException {
    try (PrintStream out = new PrintStream(new FileOutputStream(args[0]), true)) {
      long acc = 7;
      for (int step = 0; step < 100; ++step) {
        for (int i = 0; i < 1500000; ++i) acc = acc * 6364136223846793005L + i + step;
        out.printf("step %03d acc %016x%n", step, acc);
        Thread.sleep(5);
      }
    }
  }
}
