# mail: MIME, SMTP (against tests/mail_double/smtp_sink.py), the delivery
# log, the webhook (tests/mail_double/webhook.py), the jobs that mail.
cs_add_test(test_mail)
set_tests_properties(test_mail PROPERTIES TIMEOUT 600)
