import django_filters

from .models import BackgroundTask, TaskState


class BackgroundTaskFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=TaskState.choices)
    object_id = django_filters.CharFilter()

    class Meta:
        model = BackgroundTask
        fields = ["name", "state", "object_id"]
