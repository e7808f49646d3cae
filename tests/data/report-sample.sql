-- report-sample.sql — a finished `mailvet clean` batch of 323 rows over 20
-- domains, as a state file per include/state.h (format_version 1). Used by
-- tests/unit/test_report.c and tests/net/report-html.sh, and for the
-- screenshot in docs/report.png. Build it with: sqlite3 X.state < this file.
--
-- What it holds on purpose: every status, most reasons, two accept-all
-- domains, a blocklisting host (Spamhaus text), an rDNS/PTR-refusing host, a
-- tarpit that timed out, and a host whose reply is hostile HTML (the report
-- must escape it). Numbers the tests check are listed at the end.
BEGIN;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE results(row INTEGER PRIMARY KEY, email TEXT, domain TEXT, status TEXT,
    reason TEXT, risk INTEGER, did_you_mean TEXT, role INTEGER, free INTEGER,
    disposable INTEGER, accept_all INTEGER NULL, mx TEXT, smtp_code INTEGER,
    smtp_enhanced TEXT, smtp_text TEXT, attempts INTEGER);
CREATE TABLE retries(row INTEGER PRIMARY KEY, due REAL, attempts INTEGER, email TEXT,
    domain TEXT, reason TEXT, smtp_code INTEGER, smtp_enhanced TEXT, smtp_text TEXT, mx TEXT);
CREATE TABLE domains(domain TEXT PRIMARY KEY, accept_all INTEGER NULL, mx TEXT);
CREATE TABLE hosts(host TEXT PRIMARY KEY, ip TEXT, sessions INTEGER, timeouts INTEGER,
    blocks INTEGER, rcpt_cap INTEGER, last_code INTEGER, last_enhanced TEXT, last_text TEXT);

INSERT INTO meta VALUES
    ('format_version', '1'),
    ('input_path', 'exports/leads Q3 & Q4.csv'),
    ('input_size', '18734'),
    ('input_mtime', '1717200000'),
    ('input_head_sha256', '5f0c6ad2a1e4b3c7d8e9f00112233445566778899aabbccddeeff00112233445'),
    ('options', 'level=smtp;from=verify@mx.example.net;helo=mx.example.net;port=25;starttls=auto;column=auto;retry=360,900,1800'),
    ('email_column', '1'),
    ('has_header', '1'),
    ('width', '4'),
    ('bom', '0'),
    ('rows_total', '323'),
    ('started_at', '1717225200'),
    ('updated_at', '1717225447'),
    ('finished_at', '1717225447'),
    ('elapsed_s', '247.3'),
    ('retries_used', '17'),
    ('level', 'smtp');

-- One line per group of identical verdicts; rows are numbered in this order.
CREATE TEMP TABLE grp(id INTEGER PRIMARY KEY, domain TEXT, n INTEGER, status TEXT,
    reason TEXT, base INTEGER, free INTEGER, disposable INTEGER, accept_all INTEGER,
    mx TEXT, code INTEGER, enh TEXT, txt TEXT, dym TEXT);
INSERT INTO grp(domain, n, status, reason, base, free, disposable, accept_all, mx, code, enh, txt, dym) VALUES
 ('gmail.com', 72, 'deliverable', 'accepted', 3, 1, 0, 0, 'gmail-smtp-in.l.google.com', 250, '2.1.5', 'OK', ''),
 ('gmail.com', 9, 'undeliverable', 'mailbox_not_found', 100, 1, 0, 0, 'gmail-smtp-in.l.google.com', 550, '5.1.1', 'The email account that you tried to reach does not exist.', ''),
 ('gmail.com', 2, 'undeliverable', 'mailbox_disabled', 100, 1, 0, 0, 'gmail-smtp-in.l.google.com', 550, '5.2.1', 'The email account that you tried to reach is disabled.', ''),
 ('yahoo.com', 38, 'deliverable', 'accepted', 3, 1, 0, 0, 'mta5.am0.yahoodns.net', 250, '', 'recipient <ok>', ''),
 ('yahoo.com', 5, 'undeliverable', 'mailbox_not_found', 100, 1, 0, 0, 'mta5.am0.yahoodns.net', 554, '', 'delivery error: dd This user doesn''t have a yahoo.com account', ''),
 ('yahoo.com', 3, 'risky', 'mailbox_full', 75, 1, 0, 0, 'mta5.am0.yahoodns.net', 452, '4.2.2', 'Mailbox full', ''),
 ('outlook.com', 27, 'deliverable', 'accepted', 3, 1, 0, 0, 'outlook-com.olc.protection.outlook.com', 250, '2.1.5', 'Recipient OK', ''),
 ('outlook.com', 4, 'undeliverable', 'mailbox_not_found', 100, 1, 0, 0, 'outlook-com.olc.protection.outlook.com', 550, '5.5.0', 'Requested action not taken: mailbox unavailable', ''),
 ('bigcorp.com', 22, 'risky', 'accept_all', 45, 0, 0, 1, 'mx.bigcorp.com', 250, '2.1.5', 'Ok', ''),
 ('hotmail.com', 18, 'deliverable', 'accepted', 3, 1, 0, 0, 'hotmail-com.olc.protection.outlook.com', 250, '2.1.5', 'Recipient OK', ''),
 ('hotmail.com', 3, 'undeliverable', 'mailbox_not_found', 100, 1, 0, 0, 'hotmail-com.olc.protection.outlook.com', 550, '5.5.0', 'Requested action not taken: mailbox unavailable', ''),
 ('acme-corp.com', 14, 'unknown', 'blocked', 45, 0, 0, NULL, 'mx1.acme-corp.com', 554, '5.7.1', 'Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org', ''),
 ('icloud.com', 12, 'deliverable', 'accepted', 3, 1, 0, 0, 'mx01.mail.icloud.com', 250, '2.1.5', 'OK', ''),
 ('icloud.com', 2, 'undeliverable', 'mailbox_not_found', 100, 1, 0, 0, 'mx01.mail.icloud.com', 550, '5.1.1', 'user does not exist', ''),
 ('university.edu', 10, 'deliverable', 'accepted', 3, 0, 0, 0, 'mail.university.edu', 250, '2.1.5', 'Ok', ''),
 ('university.edu', 3, 'unknown', 'greylisted', 40, 0, 0, 0, 'mail.university.edu', 451, '4.7.1', 'Greylisted, see http://postgrey.schweikert.ch/help/university.edu.html', ''),
 ('t-online.de', 11, 'unknown', 'blocked', 45, 1, 0, NULL, 'mx00.t-online.de', 550, '5.7.25', 'The IP address sending this message does not have a PTR record setup', ''),
 ('aol.com', 6, 'deliverable', 'accepted', 3, 1, 0, 0, 'mx-aol.mail.gm0.yahoodns.net', 250, '', 'recipient <ok>', ''),
 ('aol.com', 4, 'undeliverable', 'mailbox_disabled', 100, 1, 0, 0, 'mx-aol.mail.gm0.yahoodns.net', 554, '5.2.1', 'mailbox disabled', ''),
 ('startup.io', 9, 'risky', 'accept_all', 45, 0, 0, 1, 'aspmx.l.google.com', 250, '2.1.5', 'OK', ''),
 ('proton.me', 8, 'deliverable', 'accepted', 3, 1, 0, 0, 'mail.protonmail.ch', 250, '2.1.5', 'Ok', ''),
 ('proton.me', 1, 'risky', 'mailbox_full', 75, 1, 0, 0, 'mail.protonmail.ch', 452, '4.2.2', 'Mailbox is full', ''),
 ('tarpit-industries.com', 8, 'unknown', 'timeout', 55, 0, 0, NULL, 'mx.tarpit-industries.com', 0, '', '', ''),
 ('mailinator.com', 7, 'risky', 'disposable', 85, 0, 1, NULL, '', 0, '', '', ''),
 ('', 6, 'undeliverable', 'invalid_syntax', 100, 0, 0, NULL, '', 0, '', '', ''),
 ('hotmial.com', 5, 'undeliverable', 'invalid_domain', 100, 0, 0, NULL, '', 0, '', '', 'hotmail.com'),
 ('oldcompany.net', 5, 'undeliverable', 'no_mail_server', 100, 0, 0, NULL, '', 0, '', '', ''),
 ('shady-hosting.biz', 4, 'unknown', 'blocked', 45, 0, 0, NULL, 'mx.shady-hosting.biz', 554, '', '<script>alert(1)</script> go away & "stay" away', ''),
 ('parked-domain.com', 3, 'undeliverable', 'null_mx', 100, 0, 0, NULL, '', 0, '', '', ''),
 ('dnsfail.net', 2, 'unknown', 'dns_error', 65, 0, 0, NULL, '', 0, '', '', '');

-- Running row offsets per group, then one row per (group, i).
CREATE TEMP TABLE cum AS
    SELECT g.id, g.n, (SELECT coalesce(sum(n), 0) FROM grp p WHERE p.id < g.id) AS first FROM grp g;
INSERT INTO results
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < 99)
SELECT c.first + s.i,
       CASE WHEN g.domain = '' THEN 'contact' || (c.first + s.i) || '@@broken'
            WHEN (c.first + s.i) % 15 = 0 THEN 'info' || s.i || '@' || g.domain
            ELSE 'contact' || (c.first + s.i) || '@' || g.domain END,
       g.domain, g.status, g.reason,
       CASE WHEN g.base >= 100 THEN 100
            ELSE min(99, g.base + CASE WHEN (c.first + s.i) % 15 = 0 THEN 10 ELSE 0 END
                                + CASE WHEN g.free THEN 2 ELSE 0 END) END,
       CASE WHEN g.dym = '' THEN '' ELSE 'contact' || (c.first + s.i) || '@' || g.dym END,
       (c.first + s.i) % 15 = 0, g.free, g.disposable, g.accept_all, g.mx,
       CASE WHEN g.code = 0 THEN NULL ELSE g.code END, g.enh, g.txt,
       CASE WHEN g.mx = '' THEN 0 WHEN g.reason IN ('greylisted', 'blocked') THEN 4 ELSE 1 END
FROM grp g JOIN cum c ON c.id = g.id JOIN seq s ON s.i < g.n;

INSERT INTO domains SELECT DISTINCT domain, accept_all, mx FROM grp WHERE domain <> '';
-- an accept-all domain learned by the catch-all probe whose rows are still pending
INSERT OR IGNORE INTO domains VALUES ('newsletter-hub.com', 1, 'mx.newsletter-hub.com');

INSERT INTO hosts VALUES
 ('gmail-smtp-in.l.google.com', '142.250.27.26', 3, 0, 0, 50, 250, '2.1.5', 'OK'),
 ('mta5.am0.yahoodns.net', '67.195.204.72', 2, 0, 0, 50, 250, '', 'recipient <ok>'),
 ('outlook-com.olc.protection.outlook.com', '52.101.41.20', 1, 0, 0, 50, 250, '2.1.5', 'Recipient OK'),
 ('mx.bigcorp.com', '198.51.100.10', 1, 0, 0, 50, 250, '2.1.5', 'Ok'),
 ('mail.university.edu', '198.51.100.40', 4, 0, 0, 50, 451, '4.7.1', 'Greylisted, see http://postgrey.schweikert.ch/help/university.edu.html'),
 ('mx1.acme-corp.com', '198.51.100.20', 3, 0, 3, 50, 554, '5.7.1',
  'Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.7'),
 ('mx00.t-online.de', '192.0.2.25', 2, 0, 2, 50, 550, '5.7.25',
  '[203.0.113.7] The IP address sending this message does not have a PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.'),
 ('mx.tarpit-industries.com', '198.51.100.99', 4, 7, 0, 50, NULL, '', ''),
 ('mx.shady-hosting.biz', '192.0.2.66', 1, 0, 1, 50, 554, '', '<script>alert(1)</script> go away & "stay" away');
COMMIT;

-- Expected (checked by the tests):
--   323 rows; deliverable 191 (59.1%), undeliverable 48 (14.9%),
--   risky 42 (13.0%), unknown 42 (13.0%); mailbox_not_found 23 (7.1%).
--   mean risk: all rows 31.7, deliverable rows 5.6.
--   top domains: gmail.com 83, yahoo.com 46, outlook.com 31, bigcorp.com 22,
--   hotmail.com 21, acme-corp.com 14, icloud.com 14, university.edu 13, ...
--   accept-all: bigcorp.com 22, startup.io 9, newsletter-hub.com 0.
