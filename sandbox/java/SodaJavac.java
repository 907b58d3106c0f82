// A compile server: one warm javac per sandbox slot instead of a cold JVM per program.
// Protocol on stdin/stdout, big-endian: request = int n, then n x (name, source);
// reply = int status (0 compiled), diagnostics, int m, then m x (class name, bytes), then
// int k, then k x a simple name that a compiled class shares with a class of the packages
// programs use unqualified (SHADOWED): the harness refuses solutions whose classes shadow
// one the tests use (a `class Arrays` of the solution would be the tests' Arrays);
// strings and byte arrays are an int length and the bytes (UTF-8). It reads sources and
// returns class files from memory: it never touches the file system, and with -proc:none
// no code from the program runs here.
import javax.tools.*;
import java.io.*;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class SodaJavac {
    static final String[] SHADOWED = {"java.lang", "java.util", "java.util.function", "java.util.stream",
        "java.math", "java.io", "java.util.regex", "java.text", "java.security", "java.nio.charset", "org.javatuples"};

    static final class Source extends SimpleJavaFileObject {
        final String code;
        Source(String name, String code) {
            super(URI.create("string:///" + name), Kind.SOURCE);
            this.code = code;
        }
        @Override public CharSequence getCharContent(boolean ignoreEncodingErrors) { return code; }
    }

    static final class Output extends SimpleJavaFileObject {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Output(String cls) { super(URI.create("mem:///" + cls.replace('.', '/') + ".class"), Kind.CLASS); }
        @Override public OutputStream openOutputStream() { return bytes; }
    }

    public static void main(String[] args) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StandardJavaFileManager std = javac.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(System.out));
        while (true) {
            int n;
            try { n = in.readInt(); } catch (EOFException e) { return; }
            List<Source> sources = new ArrayList<>();
            for (int i = 0; i < n; i++) sources.add(new Source(readString(in), readString(in)));
            Map<String, Output> classes = new TreeMap<>();
            JavaFileManager files = new ForwardingJavaFileManager<JavaFileManager>(std) {
                @Override public JavaFileObject getJavaFileForOutput(Location location, String cls,
                        JavaFileObject.Kind kind, FileObject sibling) {
                    Output o = new Output(cls);
                    classes.put(cls, o);
                    return o;
                }
            };
            StringWriter diagnostics = new StringWriter();
            boolean ok = javac.getTask(diagnostics, files, null, List.of("-proc:none", "-nowarn", "-Xlint:none"),
                                       null, sources).call();
            out.writeInt(ok ? 0 : 1);
            writeBytes(out, diagnostics.toString().getBytes(StandardCharsets.UTF_8));
            out.writeInt(ok ? classes.size() : 0);
            if (ok) {
                for (Map.Entry<String, Output> e : classes.entrySet()) {
                    writeBytes(out, e.getKey().getBytes(StandardCharsets.UTF_8));
                    writeBytes(out, e.getValue().bytes.toByteArray());
                }
            }
            Set<String> shadows = new TreeSet<>();
            for (String cls : ok ? classes.keySet() : Set.<String>of()) {
                String simple = cls.substring(Math.max(cls.lastIndexOf('.'), cls.lastIndexOf('$')) + 1);
                for (String pkg : SHADOWED) {
                    if (!simple.isEmpty() && !Character.isDigit(simple.charAt(0)) && exists(pkg + "." + simple)) {
                        shadows.add(simple);
                    }
                }
            }
            out.writeInt(shadows.size());
            for (String name : shadows) writeBytes(out, name.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }

    static boolean exists(String cls) {
        try {
            Class.forName(cls, false, ClassLoader.getSystemClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    static String readString(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }
}
