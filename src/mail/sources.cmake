list(APPEND CS_CORE_SOURCES src/mail/mime.c src/mail/smtp.c src/mail/compose.c src/mail/deliver.c)
