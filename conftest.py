import os

# The playwright fixture keeps an asyncio loop running in the main thread for the whole session;
# without this every ORM call after the first browser test raises SynchronousOnlyOperation.
# Tests only: never set in any settings module.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
