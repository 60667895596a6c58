"""The consent migrations' reference data comes back after a flush, and only into empty tables."""

from __future__ import annotations

import pytest

from django.core.management import call_command

from consent.models import Channel, ProcessingActivity, Purpose


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_the_purposes_channels_and_register_seeded_as_the_migrations_do():
    before = {
        "purposes": set(Purpose.objects.values_list("key", "legal_basis", "direct_marketing")),
        "channels": set(Channel.objects.values_list("key", flat=True)),
        "activities": set(ProcessingActivity.objects.values_list("key", "purposes__key")),
    }
    assert before["purposes"]
    assert before["channels"]
    assert before["activities"]
    assert any(direct for _, _, direct in before["purposes"])
    # when every table is emptied (the operator's flush, or the test runner's between transactional tests)
    call_command("flush", interactive=False, verbosity=0)
    # then the reference data is there again, as the migrations left it
    assert set(Purpose.objects.values_list("key", "legal_basis", "direct_marketing")) == before["purposes"]
    assert set(Channel.objects.values_list("key", flat=True)) == before["channels"]
    assert set(ProcessingActivity.objects.values_list("key", "purposes__key")) == before["activities"]


@pytest.mark.django_db
def test_a_purpose_the_dpo_deleted_is_not_seeded_again_on_the_next_migrate():
    from consent.seeds import seed_reference_data

    Purpose.objects.filter(key="postal_marketing").delete()
    assert seed_reference_data() == []
    assert not Purpose.objects.filter(key="postal_marketing").exists()
