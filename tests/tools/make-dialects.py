#!/usr/bin/env python3
"""make-dialects.py — the input-dialect fixtures of tests/net/dialects.sh,
all made from one set of rows (name, company, email: addresses of
tests/net/world-compare.txt's mailsim world, with verdicts that come at once).

  make-dialects.py make DIR        write the fixtures into DIR
  make-dialects.py compare REF OUT  the mailvet_* columns of two OUTPUTs,
                                    row by row; exit 1 (and say where) if
                                    they differ; each file's delimiter and
                                    encoding are its own

Fixtures: comma.csv (the reference), excel-semicolon.csv (UTF-8 BOM, a
"sep=;" first line, CRLF), list.tsv, list.psv, unicode-text.txt (UTF-16LE
with a BOM, tab, CRLF: Excel's "Unicode Text"), mailchimp.csv ("Email
Address" first, a quoted multi-line Notes field), hubspot.csv (the email in
column 8); and files mailvet must refuse: workbook.xlsx (a real ZIP with
[Content_Types].xml and xl/), list.csv.gz, list.pdf."""
import csv, gzip, io, sys, zipfile

ROWS = [
    ("Alice Martin", "Okmail, Inc.", "alice@okmail.com"),
    ("Bob Stone", "Okmail; Europe", "bob@okmail.com"),
    ("No Body", "Okmail", "nobody@okmail.com"),
    ("Carol \"CJ\" Jones", "Full Co", "carol@okmail.com"),
    ("Dave Dee", "Disabled | Ltd", "dave@okmail.com"),
    ("Info Desk", "Okmail", "info@okmail.com"),
    ("Alice Alias", "Alias\tTab Co", "alice@alias.com"),
    ("Olga Petrova", "Outly", "olga@outly.com"),
    ("Nobody Outly", "Outly", "nobody@outly.com"),
    ("Yuri Gagarin", "Yahly", "yuri@yahly.com"),
    ("Nobody Yahly", "Yahly", "nobody@yahly.com"),
    ("Any One", "Catchy", "anyone@catchy.com"),
    ("Any Host", "Catchhost", "anyone@catchhost.com"),
    ("Gone Domain", "Gone", "a@gone.com"),
    ("No Data", "Nodata", "a@nodata.com"),
    ("Null MX", "Nullmx", "a@nullmx.com"),
    ("Andy A-only", "Aonly", "andy@aonly.net"),
    ("Nobody Aonly", "Aonly", "nobody@aonly.net"),
    ("Rex Rejected", "Rejecty", "r@rejecty.com"),
    ("Pat Policy", "Policy", "pat@policy.com"),
    ("Bea Blocked", "Blocky", "b@blocky.com"),
    ("Ben Banner", "Banner", "b@banner554.com"),
    ("Tina TLS", "TLS only", "tina@tlsonly.com"),
    ("Fred Fallback", "Fallback", "fred@fallback.com"),
    ("Xavier Throwaway", "Mailinator", "x@mailinator.com"),
    ("Bad Syntax", "Okmail", "bad@@okmail.com"),
    ("Some One", "Typo", "someone@gmial.com"),
    ("José Müller", "Ünïcödé GmbH", "s1@shared1.com"),
    ("Emoji \U0001F600 Fan", "Shared", "s2@shared2.com"),
    ("中文 名字", "Shared", "s3@shared3.com"),
]
HEAD = ("Name", "Company", "E-mail")


def table(delim, crlf, head=HEAD, rows=ROWS):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\r\n" if crlf else "\n")
    w.writerow(head)
    w.writerows(rows)
    return buf.getvalue()


def mailchimp():
    head = ("Email Address", "First Name", "Last Name", "Company", "Notes", "MEMBER_RATING",
            "OPTIN_TIME", "TAGS")
    rows = []
    for i, (name, company, email) in enumerate(ROWS):
        first, _, last = name.partition(" ")
        notes = "Met at the fair.\nCall back in May, said:\n\"not before 10am\"" if i % 3 == 0 \
            else ("one line, with a comma" if i % 3 == 1 else "")
        rows.append((email, first, last, company, notes, str(i % 5 + 1),
                     "2024-01-%02d 10:00:00" % (i % 28 + 1), '"vip","2024"' if i % 2 else ""))
    return table(",", True, head, rows)


def hubspot():
    head = ("Record ID", "First Name", "Last Name", "Company Name", "Phone Number",
            "Lifecycle Stage", "Create Date", "Email", "Contact owner")
    rows = []
    for i, (name, company, email) in enumerate(ROWS):
        first, _, last = name.partition(" ")
        rows.append((str(1000 + i), first, last, company, "+1 555 01%02d" % i, "lead",
                     "2024-02-01 09:00", email, "Sales, EMEA"))
    return table(",", False, head, rows)


def make(d):
    def put(name, data):
        with open("%s/%s" % (d, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    put("comma.csv", table(",", False))
    put("excel-semicolon.csv", b"\xef\xbb\xbf" + b"sep=;\r\n" + table(";", True).encode())
    put("list.tsv", table("\t", False))
    put("list.psv", table("|", False))
    put("unicode-text.txt", b"\xff\xfe" + table("\t", True).encode("utf-16-le"))
    put("mailchimp.csv", mailchimp())
    put("hubspot.csv", hubspot())
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("xl/workbook.xml", "<workbook/>")
    put("workbook.xlsx", z.getvalue())
    put("list.csv.gz", gzip.compress(table(",", False).encode(), mtime=0))
    put("list.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")


def verdicts(path):
    """The mailvet_* columns of every data row of an OUTPUT (UTF-8, any
    delimiter: taken from the header line), but mailvet_checked_at: when a
    verdict was made differs between two runs by nature."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        text = f.read()
    first = text.split("\n", 1)[0]
    delim = max(",;\t|", key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    cols = [i for i, h in enumerate(rows[0])
            if h.startswith("mailvet_") and h != "mailvet_checked_at"]
    return [rows[0][i] for i in cols], [[r[i] if i < len(r) else "<absent>" for i in cols]
                                        for r in rows[1:]]


def compare(ref, out):
    rh, rv = verdicts(ref)
    oh, ov = verdicts(out)
    bad = []
    if rh != oh:
        bad.append("columns differ: %s vs %s" % (rh, oh))
    if len(rv) != len(ov):
        bad.append("%d rows vs %d" % (len(rv), len(ov)))
    for n, (a, b) in enumerate(zip(rv, ov), 1):
        for h, x, y in zip(rh, a, b):
            if x != y:
                bad.append("row %d %s: %r vs %r" % (n, h, x, y))
    for line in bad[:10]:
        print("  " + line)
    return 1 if bad or not rv else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
