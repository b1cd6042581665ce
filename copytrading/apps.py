from django.apps import AppConfig


class CopytradingConfig(AppConfig):
    name = "copytrading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Providers of the lower layers (docs/architecture.md): settlement tells us of fills in
        # its transaction; rankings shows followers and a trader's copy terms.
        from copytrading import mirror, payloads, selectors
        from copytrading.tasks import mirror_chunks_dispatch
        from rankings.followers import copy_terms_provider_set, followers_provider_set
        from settlement.services import settled_fills_listener_add

        settled_fills_listener_add(mirror.intents_record)
        followers_provider_set(selectors.followers_count_many)
        copy_terms_provider_set(payloads.copy_terms_for_profile)
        # Mirroring runs in a Celery worker, off settlement's path (inline in tests: eager).
        mirror.dispatcher_set(mirror_chunks_dispatch)
