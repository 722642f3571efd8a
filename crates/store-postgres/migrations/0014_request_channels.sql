-- Requests also arrive by phone and in person (recorded as such).
ALTER TABLE requests DROP CONSTRAINT requests_channel_check;
ALTER TABLE requests ADD CONSTRAINT requests_channel_check
    CHECK (channel IN ('letter', 'email', 'web_form', 'phone', 'in_person'));
