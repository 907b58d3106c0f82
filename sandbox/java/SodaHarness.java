// Runs a program's main class, then writes the run's nonce on the verdict channel: only a
// main() that returned (no System.exit before the tests finished) produces a verdict.
public class SodaHarness {
    public static void main(String[] args) throws Throwable {
        try {
            Class.forName(args[0]).getMethod("main", String[].class).invoke(null, (Object) new String[0]);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
        System.out.flush();
        String line = "{\"nonce\": \"" + System.getenv("SODA_NONCE") + "\", \"ok\": true}\n";
        try (java.io.FileOutputStream out = new java.io.FileOutputStream("/proc/self/fd/" + System.getenv("SODA_VERDICT_FD"))) {
            out.write(line.getBytes());
        }
    }
}
