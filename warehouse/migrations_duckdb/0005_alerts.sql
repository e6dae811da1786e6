-- 0005: the alert outbox. A new relevant article that is no copy gets one row in `alerts`, in the same
-- transaction that stores it. Sending records a delivery per recipient.
CREATE TABLE alerts (
    url         VARCHAR PRIMARY KEY,   -- articles.url of the story
    created_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL       -- the run that stored the article
);

-- One row per alert and recipient once sending has begun. The guarantee is at most once per recipient:
-- the row is written, with the Message-ID, before the message goes to the SMTP server, and marked 'sent'
-- once the server accepted it. A server that refuses the message deletes the row again (the alert is pending
-- for the next run). A process killed between the two leaves 'sending': never sent again automatically,
-- listed by `newsmon alerts` (and `newsmon alerts --retry-uncertain` puts it back in the queue).
-- An alert is pending for a recipient while no row exists for the pair.
CREATE TABLE alert_deliveries (
    url         VARCHAR NOT NULL,
    recipient   VARCHAR NOT NULL,
    state       VARCHAR NOT NULL,      -- 'sending' or 'sent'
    message_id  VARCHAR NOT NULL,      -- the Message-ID header of the message that carried it
    started_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,           -- when the SMTP server accepted the message; NULL while 'sending'
    PRIMARY KEY (url, recipient)
);
