// JavaHello: connect with the JDK's default SSLSocketFactory and SNI, so that
// tools/capture-hello.py records JSSE's default ClientHello.
import javax.net.ssl.*;
import java.util.List;

public class JavaHello {
    public static void main(String[] a) throws Exception {
        SSLSocketFactory f = (SSLSocketFactory) SSLSocketFactory.getDefault();
        try (SSLSocket s = (SSLSocket) f.createSocket("127.0.0.1", Integer.parseInt(a[0]))) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(a[1])));
            s.setSSLParameters(p);
            s.startHandshake();
        } catch (Exception e) {
            System.err.println(e);
        }
    }
}
