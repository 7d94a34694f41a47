#!/usr/bin/env python3
"""Writes the codec transcript corpus: NAME.stomp (the bytes on the wire) and NAME.expect (the events a
correct parser reports, in the canonical form of tests/support/transcript.hpp).

The expectations are written here by hand from the STOMP specs, independently of the C++ parser, so
the corpus is an oracle and not a recording. Run it after editing; commit its output."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def printable(b: bytes) -> str:
    return "".join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else "\\x%02x" % c for c in b)


def frame(command, headers=(), body=b""):
    out = "FRAME %s\n" % command
    for n, v in headers:
        n = n.encode() if isinstance(n, str) else n
        v = v.encode() if isinstance(v, str) else v
        out += printable(n) + ":" + printable(v) + "\n"
    body = body.encode() if isinstance(body, str) else body
    return out + "BODY %d %s\n" % (len(body), printable(body))


HB = "HEARTBEAT\n"


def error(name, offset):
    return "ERROR %s @%d\n" % (name, offset)


def incomplete(n):
    return "INCOMPLETE %d\n" % n


corpus = {}


def case(name, wire, *events, **options):
    wire = wire.encode("latin-1") if isinstance(wire, str) else wire
    corpus[name] = (wire, "".join(events), options)


# --- STOMP 1.2 specification examples -------------------------------------------------------------
case("spec_connect", "CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
     frame("CONNECT", [("accept-version", "1.2"), ("host", "stomp.github.org")]))
case("spec_stomp_login", "STOMP\naccept-version:1.0,1.1,1.2\nhost:/\nlogin:guest\npasscode:gu\\est\nheart-beat:10000,10000\n\n\0",
     frame("STOMP", [("accept-version", "1.0,1.1,1.2"), ("host", "/"), ("login", "guest"),
                     ("passcode", "gu\\est"), ("heart-beat", "10000,10000")]))
case("spec_connected", "CONNECTED\nversion:1.2\n\n\0", frame("CONNECTED", [("version", "1.2")]))
case("spec_send", "SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
     frame("SEND", [("destination", "/queue/a"), ("content-type", "text/plain")], "hello queue a"))
case("spec_send_json", "SEND\ndestination:/queue/a\ncontent-type:application/json;charset=utf-8\n\n{\"k\":1}\0",
     frame("SEND", [("destination", "/queue/a"), ("content-type", "application/json;charset=utf-8")], '{"k":1}'))
case("spec_subscribe", "SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
     frame("SUBSCRIBE", [("id", "0"), ("destination", "/queue/foo"), ("ack", "client")]))
case("spec_unsubscribe", "UNSUBSCRIBE\nid:0\n\n\0", frame("UNSUBSCRIBE", [("id", "0")]))
case("spec_ack_nack_tx", "BEGIN\ntransaction:tx1\n\n\0ACK\nid:12345\ntransaction:tx1\n\n\0NACK\nid:12346\n\n\0COMMIT\ntransaction:tx1\n\n\0ABORT\ntransaction:tx2\n\n\0",
     frame("BEGIN", [("transaction", "tx1")]), frame("ACK", [("id", "12345"), ("transaction", "tx1")]),
     frame("NACK", [("id", "12346")]), frame("COMMIT", [("transaction", "tx1")]),
     frame("ABORT", [("transaction", "tx2")]))
case("spec_disconnect_receipt", "DISCONNECT\nreceipt:77\n\n\0RECEIPT\nreceipt-id:77\n\n\0",
     frame("DISCONNECT", [("receipt", "77")]), frame("RECEIPT", [("receipt-id", "77")]))
case("spec_message", "MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
     frame("MESSAGE", [("subscription", "0"), ("message-id", "007"), ("destination", "/queue/a"),
                       ("content-type", "text/plain")], "hello queue a"))
_err_body = ("The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\n"
             "Did not contain a destination header, which is REQUIRED\nfor message propagation.\n")
case("spec_error", "ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:%d\nmessage:malformed frame received\n\n%s\0"
     % (len(_err_body), _err_body),
     frame("ERROR", [("receipt-id", "message-12345"), ("content-type", "text/plain"),
                     ("content-length", str(len(_err_body))), ("message", "malformed frame received")], _err_body))
case("spec_heartbeats", "\n\nCONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0\n\r\n\nRECEIPT\nreceipt-id:1\n\n\0\n",
     HB, HB, frame("CONNECTED", [("version", "1.2"), ("heart-beat", "0,0")]), HB, HB, HB,
     frame("RECEIPT", [("receipt-id", "1")]), HB)

# --- Line endings, escaping and versions ---------------------------------------------------------
case("crlf_frames", "MESSAGE\r\ndestination:/topic/a\r\nmessage-id:1\r\nsubscription:s\r\n\r\nbody\r\nline\0\r\n",
     frame("MESSAGE", [("destination", "/topic/a"), ("message-id", "1"), ("subscription", "s")], "body\r\nline"), HB)
case("escapes_v12", "MESSAGE\nfo\\co:a\\cb\\nc\\\\d\\re\n\n\0",
     frame("MESSAGE", [("fo:o", "a:b\nc\\d\re")]))
case("escapes_v11", "MESSAGE\nk:a\\cb\\nc\\\\d\n\n\0", frame("MESSAGE", [("k", "a:b\nc\\d")]), version="1.1")
case("escape_cr_undefined_in_v11", "MESSAGE\nk:a\\rb\n\n\0", error("invalid_escape", 11), version="1.1")
case("escape_undefined_tab", "SEND\ndestination:/a\nk:x\\ty\n\n\0", error("invalid_escape", 23))
case("escape_trailing_backslash", "SEND\nk:xy\\\n\n\0", error("invalid_escape", 9))
case("no_escaping_in_v10", "MESSAGE\nk:a\\cb\\t\n\n\0", frame("MESSAGE", [("k", "a\\cb\\t")]), version="1.0")
case("connected_not_escaped", "CONNECTED\nversion:1.2\nserver:my\\cserver\\t\n\n\0",
     frame("CONNECTED", [("version", "1.2"), ("server", "my\\cserver\\t")]))
case("connect_not_escaped", "CONNECT\naccept-version:1.2\npasscode:a\\b:c\n\n\0",
     frame("CONNECT", [("accept-version", "1.2"), ("passcode", "a\\b:c")]))
case("version_switch_on_connected", "CONNECTED\nversion:1.0\n\n\0MESSAGE\nk:a\\cb\n\n\0",
     frame("CONNECTED", [("version", "1.0")]), frame("MESSAGE", [("k", "a\\cb")]))
case("repeated_header_order_kept", "MESSAGE\nfoo:World\nfoo:Hello\nbar:\n\n\0",
     frame("MESSAGE", [("foo", "World"), ("foo", "Hello"), ("bar", "")]))
case("colon_in_value", "SEND\ndestination:http://h:80/x\n\n\0", frame("SEND", [("destination", "http://h:80/x")]), version="1.0")
case("whitespace_kept", "SEND\n key : value \n\n\0", frame("SEND", [(" key ", " value ")]))
case("utf8_headers_and_body", "SEND\ndestination:/topic/caf\xc3\xa9\n\n\xe2\x9c\x93 ok\0",
     frame("SEND", [("destination", b"/topic/caf\xc3\xa9")], b"\xe2\x9c\x93 ok"))

# --- Bodies -----------------------------------------------------------------------------------------
case("content_length_with_nuls", "SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c\0",
     frame("SEND", [("destination", "/q"), ("content-length", "5")], b"a\0b\0c"))
_bin = bytes(range(256))
case("binary_body_all_bytes", b"MESSAGE\ncontent-length:256\ncontent-type:application/octet-stream\n\n" + _bin + b"\0",
     frame("MESSAGE", [("content-length", "256"), ("content-type", "application/octet-stream")], _bin))
case("content_length_first_wins", "SEND\ncontent-length:2\ncontent-length:9\n\nab\0",
     frame("SEND", [("content-length", "2"), ("content-length", "9")], "ab"))
case("content_length_zero", "SEND\ncontent-length:0\n\n\0SEND\n\n\0",
     frame("SEND", [("content-length", "0")]), frame("SEND"))
case("empty_frames_back_to_back", "RECEIPT\nreceipt-id:1\n\n\0RECEIPT\nreceipt-id:2\n\n\0RECEIPT\nreceipt-id:3\n\n\0",
     frame("RECEIPT", [("receipt-id", "1")]), frame("RECEIPT", [("receipt-id", "2")]),
     frame("RECEIPT", [("receipt-id", "3")]))
case("no_headers", "DISCONNECT\n\n\0", frame("DISCONNECT"))

# --- Real brokers, as their documentation and logs show them -----------------------------------------
case("rabbitmq_connected", "CONNECTED\nserver:RabbitMQ/3.10.8\nsession:session-4lQZ9uIbH1Jh0a6Cbs7ZgA\nheart-beat:10000,10000\nversion:1.2\n\n\0",
     frame("CONNECTED", [("server", "RabbitMQ/3.10.8"), ("session", "session-4lQZ9uIbH1Jh0a6Cbs7ZgA"),
                         ("heart-beat", "10000,10000"), ("version", "1.2")]))
case("rabbitmq_message", "MESSAGE\nsubscription:sub-0\ndestination:/topic/chat\nmessage-id:T_sub-0@@session-x@@1\nredelivered:false\ncontent-type:application/json\ncontent-length:16\n\n{\"content\":\"hi\"}\0\n",
     frame("MESSAGE", [("subscription", "sub-0"), ("destination", "/topic/chat"),
                       ("message-id", "T_sub-0@@session-x@@1"), ("redelivered", "false"),
                       ("content-type", "application/json"), ("content-length", "16")], '{"content":"hi"}'), HB)
case("activemq_message_escaped_id", "MESSAGE\nmessage-id:ID\\cbroker-1-41021\\c1\\c1\\c1\\c1\ndestination:/queue/a\nsubscription:1\nack:ID\\cbroker-1-41021\\c2\n\nhi\0",
     frame("MESSAGE", [("message-id", "ID:broker-1-41021:1:1:1:1"), ("destination", "/queue/a"),
                       ("subscription", "1"), ("ack", "ID:broker-1-41021:2")], "hi"))
case("spring_message", "MESSAGE\ndestination:/topic/greetings\ncontent-type:application/json\nsubscription:sub-0\nmessage-id:3z2f1u5d-0\ncontent-length:24\n\n{\"content\":\"Hello, Ada\"}\0",
     frame("MESSAGE", [("destination", "/topic/greetings"), ("content-type", "application/json"),
                       ("subscription", "sub-0"), ("message-id", "3z2f1u5d-0"), ("content-length", "24")],
           '{"content":"Hello, Ada"}'))
case("spring_error", "ERROR\nmessage:Failed to send message to ExecutorSubscribableChannel[clientInboundChannel]\\c nested exception\ncontent-length:0\n\n\0",
     frame("ERROR", [("message", "Failed to send message to ExecutorSubscribableChannel[clientInboundChannel]: nested exception"),
                     ("content-length", "0")]))

# --- Malicious and broken input ----------------------------------------------------------------------
case("truncated_no_null", "SEND\ndestination:/q\n\nhello", incomplete(len("SEND\ndestination:/q\n\nhello")))
case("truncated_in_headers", "RECEIPT\nreceipt-id:1\n\n\0SEND\ndestin",
     frame("RECEIPT", [("receipt-id", "1")]), incomplete(len("SEND\ndestin")))
case("truncated_content_length", "SEND\ncontent-length:10\n\nabc", incomplete(len("SEND\ncontent-length:10\n\nabc")))
case("missing_null_after_content_length", "SEND\ncontent-length:3\n\nabcX\n\n\0", error("missing_null", 26))
case("bad_content_length_sign", "SEND\ncontent-length:-1\n\n\0", error("invalid_content_length", 5))
case("bad_content_length_text", "SEND\ncontent-length:12a\n\n\0", error("invalid_content_length", 5))
case("bad_content_length_empty", "SEND\ncontent-length:\n\n\0", error("invalid_content_length", 5))
case("huge_content_length", "SEND\ncontent-length:99999999999999999999999999\n\n\0", error("body_too_large", 5))
case("header_without_colon", "SEND\ndestination /q\n\n\0", error("malformed_header", 5))
case("header_empty_name", "SEND\n:value\n\n\0", error("malformed_header", 5))
case("lowercase_command", "send\n\n\0", error("invalid_command", 0))
case("binary_garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", error("invalid_command", 0))
case("http_request_instead", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", error("invalid_command", 3))
case("command_too_long", "A" * 40 + "\n\n\0", error("invalid_command", 32))
case("cr_without_lf_between_frames", "\rX", error("invalid_command", 0))
case("null_as_command", "\0\0\0", error("invalid_command", 0))
case("oversize_body_no_length", "SEND\ndestination:/q\n\n" + "x" * 100 + "\0", error("frame_too_large", 64), maxFrameSize=64)
case("oversize_content_length", "SEND\ncontent-length:100\n\n" + "x" * 100 + "\0", error("frame_too_large", 64), maxFrameSize=64)
case("oversize_headers", "SEND\n" + "".join("h%d:%s\n" % (i, "v" * 10) for i in range(8)) + "\n\0",
     error("frame_too_large", 64), maxFrameSize=64)
case("body_over_body_limit", "SEND\n\n" + "y" * 20 + "\0", error("body_too_large", 16), maxBodySize=10)
case("body_at_body_limit", "SEND\n\n" + "y" * 10 + "\0", frame("SEND", [], "y" * 10), maxBodySize=10)
case("frame_at_size_limit", "SEND\n\n" + "z" * 57 + "\0", frame("SEND", [], "z" * 57), maxFrameSize=64)
case("frame_one_over_size_limit", "SEND\n\n" + "z" * 58 + "\0", error("frame_too_large", 64), maxFrameSize=64)
case("too_many_headers", "SEND\na:1\nb:2\nc:3\nd:4\n\n\0", error("too_many_headers", 17), maxHeaders=3)
case("headers_at_limit", "SEND\na:1\nb:2\nc:3\n\n\0", frame("SEND", [("a", "1"), ("b", "2"), ("c", "3")]), maxHeaders=3)
case("header_line_too_long", "SEND\nk:" + "v" * 30 + "\n\n\0", error("header_line_too_long", 5), maxHeaderLine=20)
case("header_line_at_limit_crlf", "SEND\r\nk:" + "v" * 18 + "\r\n\r\n\0", frame("SEND", [("k", "v" * 18)]), maxHeaderLine=20)
# Found by the fuzzer: which limit wins must not depend on where the input is split.
case("garbage_past_line_limit", "MESSAG\x1e\0subscription:x\n\n\0", error("header_line_too_long", 0), maxHeaderLine=4)
case("cr_at_line_limit", "NSAED\r\xee\x01q\0:v\n\n\0", error("header_line_too_long", 0), maxHeaderLine=4)
case("error_after_good_frames", "RECEIPT\nreceipt-id:1\n\n\0\nSEND\nbad\n\n\0RECEIPT\nreceipt-id:2\n\n\0",
     frame("RECEIPT", [("receipt-id", "1")]), HB, error("malformed_header", 29))


def main():
    for name in list(os.listdir(HERE)):
        if name.endswith(".stomp") or name.endswith(".expect"):
            os.remove(os.path.join(HERE, name))
    for name, (wire, expect, options) in sorted(corpus.items()):
        with open(os.path.join(HERE, name + ".stomp"), "wb") as f:
            f.write(wire)
        header = "".join("# %s: %s\n" % (k, v) for k, v in sorted(options.items()))
        with open(os.path.join(HERE, name + ".expect"), "w", newline="\n") as f:
            f.write(header + expect)
    print("%d transcripts" % len(corpus))


if __name__ == "__main__":
    main()
