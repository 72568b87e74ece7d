"""Imported once by the worker's forkserver (AgentServer `preload_modules`): Django and the
agent runtime with its model plugins, so each job process starts from a warm copy instead
of importing them itself. Importing Django here opens no database connection. The OpenAI
SDK's lazy first-request work is done here too (`providers.warm_openai_sdk`): otherwise
every call, in its fresh job process, pays it in its first answer."""

from voice_worker.entrypoint import setup_django

setup_django()

from voice_worker import runner  # noqa: E402,F401  the conversation, providers and persistence
from voice_worker.providers import import_plugin, warm_openai_sdk  # noqa: E402
from voice_worker.worker import worker_plugins  # noqa: E402

for _plugin in worker_plugins():
    import_plugin(_plugin)
warm_openai_sdk()
