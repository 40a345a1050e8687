"""The ``connector`` operator CLI: the OperatorFunction's commands, status and the dead-letter queues,
against a deployed stack (``--stack NAME``) or the local stack running in this process (``--local``)."""
