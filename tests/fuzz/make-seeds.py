#!/usr/bin/env python3
"""make-seeds.py — write the starting corpus of every fuzz target into
tests/fuzz/corpus/NAME/ (seed-*), from the repository's own examples: the
address suites in tests/data and tests/unit/test_addr.c, the reply lines of
tests/unit/test_smtp_reply.c, the demo CSV and the CSV unit tests, the
mailsim worlds, and hand-built DNS answers in the fuzz_dns input format.
Run once from the top directory; `make fuzz` grows and minimises the corpus
afterwards (seed files that add no coverage are merged away). With target
names as arguments (`make-seeds.py sniff utf16`), writes only theirs."""
import os, re, struct, hashlib, glob, sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fuzz", "corpus")

ONLY = set(sys.argv[1:])

def put(name, data):
    if ONLY and name not in ONLY:
        return
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    h = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, "seed-" + h), "wb") as f:
        f.write(data)

def read(p):
    with open(os.path.join(TOP, p), "rb") as f:
        return f.read()

def c_strings(path):
    """String literals of a C file, with the simple escapes decoded."""
    src = read(path).decode("utf-8", "replace")
    out = []
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', src):
        s = m.group(1)
        try:
            b = s.encode("utf-8").decode("unicode_escape").encode("latin-1")
        except Exception:
            b = s.encode("utf-8")
        out.append(b)
    return out

# ---- addr: one options byte, then the address ---------------------------
addrs = set()
for tsv in glob.glob(os.path.join(TOP, "tests", "data", "*.tsv")):
    with open(tsv, "rb") as f:
        lines = f.read().split(b"\n")
    head = lines[0].split(b"\t")
    hexcol = head.index(b"address_hex") if b"address_hex" in head else -1
    for line in lines[1:]:
        cols = line.split(b"\t")
        if not cols or not cols[0]:
            continue
        if hexcol >= 0 and len(cols) > hexcol and cols[hexcol]:
            try:
                addrs.add(bytes.fromhex(cols[hexcol].decode()))
                continue
            except ValueError:
                pass
        addrs.add(cols[0])
for s in c_strings("tests/unit/test_addr.c"):
    if b"@" in s:
        addrs.add(s)
addrs |= {b"mailto:Jane <jane@example.com>", b"a@[IPv6:2001:db8::1]", b"a@[192.0.2.1]",
          b"\"a b\"@example.com", b"a@xn--bcher-kva.example", b"a@test"}
for a in sorted(addrs):
    put("addr", b"\x80" + a)       # mailvet's defaults
    put("addr", b"\x7f" + a)       # everything allowed

# ---- smtp_reply: a server's byte stream ---------------------------------
replies = [s for s in c_strings("tests/unit/test_smtp_reply.c") if re.match(rb"^[0-9]{3}", s)]
put("smtp_reply", b"\r\n".join(replies) + b"\r\n")
for r in replies:
    put("smtp_reply", r + b"\r\n")
put("smtp_reply", b"220 mx.example.com ESMTP\r\n250-mx.example.com\r\n250-PIPELINING\r\n"
    b"250 8BITMIME\r\n250 2.1.0 Ok\r\n550-5.1.1 no such user\r\n550 5.1.1 try again in 5 minutes\r\n")
put("smtp_reply", b"451 4.7.1 Greylisted, please retry in 300 seconds\r\n421 wait 60s\r\n"
    b"452 4.5.3 Too many recipients, try again after 2 hours\n")

# ---- ehlo: keyword lines (the harness adds "250-") ----------------------
put("ehlo", b"SIZE 35882577\n8BITMIME\nSTARTTLS\nENHANCEDSTATUSCODES\nPIPELINING\nCHUNKING\nSMTPUTF8")
put("ehlo", b"starttls\npipelining\n2.0.0 SMTPUTF8\nAUTH LOGIN PLAIN\n8bitmime")
put("ehlo", b"STARTTLSX\nmx says STARTTLS\nPIPELINING extra\nENHANCEDSTATUSCODES")

# ---- csv: one read-size byte, then CSV ----------------------------------
demo = read("data/demo/list.csv")
put("csv", b"\x00" + demo[:4000])
put("csv", b"\x07" + demo[:2000])
for s in c_strings("tests/unit/test_csvio.c"):
    if b"," in s or b"\n" in s:
        put("csv", b"\x03" + s)
        put("csv", b"\x01" + s)
put("csv", b"\x02\xef\xbb\xbfemail,name\r\n\"a@b.com\",\"x \"\"y\"\"\"\r\n\"multi\nline\",z\n")
put("csv", b"\x05a,b,c\n,,\n\"\"\n\n  spaced , field \n\"open")
# dialects: sep= + BOM + CRLF, tab, pipe, UTF-16LE/BE with a BOM, refused kinds
put("csv", b"\x04\xef\xbb\xbfsep=;\r\nName;E-mail\r\n\"Smith, J\";j@x.com\r\n")
put("csv", b"\x03name\temail\n\tb@x.com\n\"q\t\"\tz\n")
put("csv", b"\x02id|email\n1|a@x.com\n")
put("csv", b"\x03\xff\xfe" + "name\temail\r\nJos\u00e9\t\U0001F600@x.com\r\n".encode("utf-16-le"))
put("csv", b"\x01\xfe\xff" + "a,b\n\"c\nd\",e".encode("utf-16-be") + b"\xd8")
put("csv", b"\x02PK\x03\x04\x14\x00[Content_Types].xml")
put("csv", b"\x01\x1f\x8b\x08\x00")

# ---- world: world files ---------------------------------------------------
for p in ("tests/mailsim/t/world.txt", "data/demo/world.txt"):
    w = read(p)
    put("world", w[:8000])
put("world", b"host mx.a.com 127.1.0.1 ::1\n  dns delay 5\n  block rcpt 550 no\n  greylist 2 451\n"
    b"  drop mail 50\n  garbage ehlo\n  longline banner\n  drip 3\n  style yahoo\n"
    b"domain a.com\n  mx 10 mx.a.com.\n  null-mx\n  cname b.com\n  a 192.0.2.1\n  aaaa 2001:db8::1\n"
    b"  mailbox x y\n  full z\n  disabled w\n  dns servfail\ndomain b.com\n  cname a.com\n")

# ---- dns: [flags][pick lo][pick hi] then [pick][status][len16][message] ---
def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"

def msg(qname, qtype, answers, rcode=0, ident=0x1234):
    """A response: header, the question, then answers (type, rdata)."""
    h = struct.pack(">HHHHHH", ident, 0x8180 | rcode, 1, len(answers), 0, 0)
    q = name(qname) + struct.pack(">HH", qtype, 1)
    body = b""
    for t, rdata in answers:
        body += b"\xc0\x0c" + struct.pack(">HHIH", t, 1, 300, len(rdata)) + rdata
    return h + q + body

def mx(pref, host):
    return (15, struct.pack(">H", pref) + name(host))

def a(ip):
    return (1, bytes(int(x) for x in ip.split(".")))

def aaaa(hexs):
    return (28, bytes.fromhex(hexs))

def ans(m, pick=0):
    return bytes([pick, 0]) + struct.pack(">H", len(m)) + m

def status(code, pick=0):
    return bytes([pick, code])   # 4 ENODATA 5 NXDOMAIN 6 SERVFAIL 7 TIMEOUT ...

V6 = "26062800022000010248189325c81946"
# example.com: two MX hosts, each with A and AAAA (questions answered FIFO).
put("dns", bytes([0, 0, 0]) +
    ans(msg("example.com", 15, [mx(10, "mx1.example.com"), mx(20, "mx2.example.com")])) +
    ans(msg("mx1.example.com", 1, [a("93.184.216.34")])) +
    ans(msg("mx1.example.com", 28, [aaaa(V6)])) +
    ans(msg("mx2.example.com", 1, [a("10.0.0.1"), a("8.8.8.8")])) +
    status(4))
# null MX; NXDOMAIN; implicit MX (no MX records, then A)
put("dns", bytes([0, 0, 0]) + ans(msg("example.com", 15, [mx(0, ".")])))
put("dns", bytes([0, 0, 0]) + ans(msg("example.com", 15, [], rcode=3)))
put("dns", bytes([1, 0, 0]) + ans(msg("example.com", 15, [])) +
    ans(msg("example.com", 1, [a("127.0.0.1")])) + status(4))
# three domains sharing MX hosts, answered out of order, private allowed
put("dns", bytes([1 | 4, 0b011001, 0]) +
    ans(msg("example.com", 15, [mx(5, "mx1.example.com"), mx(5, "MX1.example.com."),
                                mx(1, "mx.example.org")])) +
    ans(msg("example.org", 15, [mx(1, "mx.example.org")]), pick=1) +
    ans(msg("mx.example.org", 28, [aaaa(V6)]), pick=2) +
    ans(msg("mx1.example.com", 1, [a("192.0.2.7"), a("1.1.1.1")])) +
    status(6) + status(7) + status(5))
# many MX records, more than DNS_MAX_MX
put("dns", bytes([0, 0, 0]) + ans(msg("example.com", 15,
    [mx(p, "h%d.example.com" % p) for p in (50, 40, 30, 20, 10, 60, 70, 80, 5, 90, 1)])) +
    b"".join(ans(msg("h%d.example.com" % p, 1, [a("9.9.9.%d" % p)])) for p in range(12)))
# cancellation: dns_close after two answers; a --dns string
put("dns", bytes([16, 0, 0, 2]) +
    ans(msg("example.com", 15, [mx(10, "mx1.example.com")])) + status(4))
srv = b"127.0.0.1:53, [::1]:5353,192.0.2.1"
put("dns", bytes([8, 0, 0, len(srv)]) + srv + ans(msg("example.com", 15, [mx(10, "mx1.example.com")])))

# ---- sniff: one flags byte (bit 0: the whole file), then the sample --------
dialects = [
    b"sep=;\r\nName;Company;E-mail\r\n\"Smith, John\";Acme;john@example.com\r\n",
    b"\xef\xbb\xbfsep=;\r\nName;E-mail\r\nAnn;ann@example.com\r\n",
    b"name\temail\tcity\nbob\tb@x.com\tParis, TX\n",
    b"id|email|note\n1|a@x.com|x, y\n",
    b"Email Address,First Name,Notes\na@x.com,Ann,\"line one\nline two; more\"\n",
    b"email\na@x.com\nb@x.com\n",
    b"\"sep=,\"\na,b\n",
    b"a;b,c\nd;e,f\n",
]
for i, d in enumerate(dialects):
    put("sniff", bytes([1]) + d)
    put("sniff", bytes([0]) + d[: len(d) * 2 // 3])
put("sniff", b"\x01PK\x03\x04\x14\x00\x06\x00[Content_Types].xml")
put("sniff", b"\x01PK\x03\x04\x14\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet")
put("sniff", b"\x01\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00")
put("sniff", b"\x01%PDF-1.7\n")
put("sniff", b"\x01\x1f\x8b\x08\x00")
put("sniff", b"\x01SQLite format 3\x00")
put("sniff", b"\x01" + "name\temail\r\n".encode("utf-16-le"))
put("sniff", b"\x01\xff\xfe" + "name\temail\r\n".encode("utf-16-le"))
put("sniff", b"\x01\xff\xfe\x00\x00e\x00\x00\x00")

# ---- utf16: one byte (bit 0 big-endian, the rest: block size - 1), then UTF-16
text = "name\temail\r\nJos\u00e9\tjose@example.com\r\n\u20ac \U0001F600 \u4e2d\r\n"
for step in (0, 2, 5, 64):
    put("utf16", bytes([step << 1]) + text.encode("utf-16-le"))
    put("utf16", bytes([step << 1 | 1]) + text.encode("utf-16-be"))
put("utf16", b"\x02" + b"\x3d\xd8x\x00\x00\xdey\x00\x3d\xd8")   # unpaired surrogates
put("utf16", b"\x00a\x00b")                                       # odd final byte
put("utf16", b"\x07\xd8\x3d\xde\x00\xd8\x3d")                   # BE pair, then half of one
