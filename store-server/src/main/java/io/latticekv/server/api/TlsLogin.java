package io.latticekv.server.api;

import io.latticekv.core.util.RateLimitedLog;
import io.latticekv.server.security.Authenticator;
import io.latticekv.server.security.CertificateNames;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * What a finished TLS handshake on a client port means for its connection, on the native port and
 * the RESP port alike: a client certificate signed by the cluster's CA whose common name is a user
 * logs that user in; a failed handshake is one line (rate-limited) saying why.
 */
public final class TlsLogin {

  private TlsLogin() {}

  /** @param auth the node's users, or null when it requires no logins */
  public static void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent handshake,
      Authenticator auth, Session session, RateLimitedLog refusals) {
    if (!handshake.isSuccess()) {
      refusals.warn("tls", "TLS handshake with client {} failed: {}", ctx.channel().remoteAddress(),
          rootMessage(handshake.cause()));
      return;
    }
    SslHandler tls = ctx.pipeline().get(SslHandler.class);
    if (auth == null || tls == null) {
      return;
    }
    try {
      java.security.cert.Certificate[] chain = tls.engine().getSession().getPeerCertificates();
      String user = CertificateNames.commonName((java.security.cert.X509Certificate) chain[0]);
      Authenticator.Principal who = auth.certificate(user);
      if (who != null) {
        session.logIn(who);
      } else {
        session.unknownCertificate(user);
        refusals.warn("tls-user", "client {} presented a certificate for '{}', who is not a user of this node",
            ctx.channel().remoteAddress(), user);
      }
    } catch (javax.net.ssl.SSLPeerUnverifiedException noCertificate) {
      // a password login follows
    }
  }

  /**
   * Whether {@code cause} is a failed TLS handshake (plaintext at a TLS port, a bad certificate):
   * {@link #handshakeDone} logs it, and the connection is only closed.
   */
  public static boolean handshakeFailed(Throwable cause) {
    return cause instanceof io.netty.handler.ssl.NotSslRecordException
        || cause.getCause() instanceof io.netty.handler.ssl.NotSslRecordException
        || cause.getCause() instanceof javax.net.ssl.SSLException;
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }
}
