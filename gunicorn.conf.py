"""gunicorn's settings, read from the folder it starts in (`gunicorn cdp.wsgi`): its access log, on the standard
output, carries no query string and no token (cdp.logs.GunicornLogger)."""

logger_class = "cdp.logs.GunicornLogger"
accesslog = "-"
