/**
 * The toast after a delete: what went to the Trash and an **Undo** button for ten seconds.
 */
import { h } from 'vue'
import { ElButton, ElMessage, ElNotification } from 'element-plus'
import { describeError } from '@/api/client'

/** `undo` may resolve to the words of its success message (default "Restored"). */
export function showUndoToast(title: string, undo: () => Promise<unknown>): void {
  const notice = ElNotification({
    title,
    duration: 10_000,
    message: h('div', { class: 'undo-toast' }, [
      h('span', 'You can restore files from the Trash until they are purged. '),
      h(
        ElButton,
        {
          size: 'small',
          type: 'primary',
          onClick: async () => {
            notice.close()
            try {
              const said = await undo()
              ElMessage.success(typeof said === 'string' && said ? said : 'Restored')
            } catch (err) {
              ElMessage.error(describeError(err))
            }
          },
        },
        () => 'Undo',
      ),
    ]),
  })
}
