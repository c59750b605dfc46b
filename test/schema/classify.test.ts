// The default item classifier on OpenAI Responses items, Anthropic messages and blocks,
// chainlog's neutral shape, and things that are not items at all.
import { describe, expect, it } from 'vitest'
import { classifyItem, type ItemClass } from '../../src/schema/classify.js'

type Case = [string, unknown, ItemClass]

const openai: Case[] = [
  ['a user message', { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }, 'user_message'],
  ['an assistant message', { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'yo', annotations: [] }] }, 'assistant_message'],
  ['a system message', { type: 'message', role: 'system', content: 'be brief' }, 'other'],
  ['a developer message', { type: 'message', role: 'developer', content: 'rules' }, 'other'],
  ['a function_call', { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'ls', arguments: '{}' }, 'tool_call'],
  ['a function_call_output', { type: 'function_call_output', call_id: 'call_1', output: 'a.txt' }, 'tool_result'],
  ['a reasoning item', { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAA' }, 'reasoning'],
  ['a custom_tool_call', { type: 'custom_tool_call', call_id: 'call_2', name: 'patch', input: '*** Begin' }, 'tool_call'],
  ['a custom_tool_call_output', { type: 'custom_tool_call_output', call_id: 'call_2', output: 'done' }, 'tool_result'],
  ['a local_shell_call', { type: 'local_shell_call', call_id: 'c', action: { type: 'exec', command: ['ls'] } }, 'tool_call'],
  ['a local_shell_call_output', { type: 'local_shell_call_output', call_id: 'c', output: '' }, 'tool_result'],
  ['a web_search_call', { type: 'web_search_call', id: 'ws', status: 'completed' }, 'tool_call'],
  ['an easy input message from the user (no type)', { role: 'user', content: 'hello' }, 'user_message'],
  ['an easy input message from the assistant (no type)', { role: 'assistant', content: 'hi' }, 'assistant_message'],
  ['an easy input message from the system (no type)', { role: 'system', content: 'note' }, 'other'],
  ['an easy input message from the developer (no type)', { role: 'developer', content: 'note' }, 'other'],
  ['an item of a type it does not know', { type: 'item_reference', id: 'x' }, 'other'],
]

const anthropic: Case[] = [
  ['a user message with text', { role: 'user', content: 'what is in this dir?' }, 'user_message'],
  ['a user message with text blocks', { role: 'user', content: [{ type: 'text', text: 'hi' }] }, 'user_message'],
  [
    'an assistant message with tool_use',
    { role: 'assistant', content: [{ type: 'text', text: 'let me look' }, { type: 'tool_use', id: 'toolu_1', name: 'ls', input: {} }] },
    'assistant_message',
  ],
  [
    'a user message made only of tool_result blocks',
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }, { type: 'tool_result', tool_use_id: 'toolu_2', content: [] }] },
    'tool_result',
  ],
  [
    'a user message mixing tool_result and text',
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }, { type: 'text', text: 'and also' }] },
    'user_message',
  ],
  ['a user message with empty content', { role: 'user', content: [] }, 'user_message'],
  ['a tool_use block', { type: 'tool_use', id: 'toolu_1', name: 'ls', input: { path: '.' } }, 'tool_call'],
  ['a server_tool_use block', { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }, 'tool_call'],
  ['a tool_result block', { type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok', is_error: false }, 'tool_result'],
  ['a web_search_tool_result block', { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }, 'tool_result'],
  ['a thinking block', { type: 'thinking', thinking: 'hmm', signature: 'sig' }, 'reasoning'],
  ['a redacted_thinking block', { type: 'redacted_thinking', data: 'opaque' }, 'reasoning'],
  ['a text block', { type: 'text', text: 'plain' }, 'other'],
  ['an image block', { type: 'image', source: { type: 'base64', media_type: 'image/png', data: '' } }, 'other'],
  ['a document block', { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }, 'other'],
  ['a web_fetch_tool_result block', { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_2', content: {} }, 'tool_result'],
  ['a bash_code_execution_tool_result block', { type: 'bash_code_execution_tool_result', tool_use_id: 'srvtoolu_3', content: {} }, 'tool_result'],
  ['a text_editor_code_execution_tool_result block', { type: 'text_editor_code_execution_tool_result', tool_use_id: 'srvtoolu_4', content: {} }, 'tool_result'],
  ['a mcp_tool_use block', { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'q', server_name: 's', input: {} }, 'tool_call'],
  ['a mcp_tool_result block', { type: 'mcp_tool_result', tool_use_id: 'mcptoolu_1', is_error: false, content: [] }, 'tool_result'],
  [
    'an assistant message of thinking and text blocks',
    { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'text', text: 'ok' }] },
    'assistant_message',
  ],
]

const pi: Case[] = [
  ['a user message', { role: 'user', content: [{ type: 'text', text: 'hi' }], timestamp: 1 }, 'user_message'],
  [
    'an assistant message with a toolCall block',
    { role: 'assistant', content: [{ type: 'toolCall', id: 'c1', name: 'read', arguments: { path: 'a' } }], api: 'anthropic-messages', provider: 'anthropic', model: 'm', stopReason: 'toolUse', timestamp: 2 },
    'assistant_message',
  ],
  ['a toolResult message', { role: 'toolResult', toolCallId: 'c1', toolName: 'read', content: [{ type: 'text', text: 'x' }], isError: false, timestamp: 3 }, 'tool_result'],
  ['a toolCall block', { type: 'toolCall', id: 'c1', name: 'read', arguments: {} }, 'tool_call'],
  ['a bashExecution message', { role: 'bashExecution', command: 'ls', output: '', exitCode: 0, cancelled: false, truncated: false, timestamp: 4 }, 'other'],
  ['a compactionSummary message', { role: 'compactionSummary', summary: 's', tokensBefore: 10, timestamp: 5 }, 'other'],
  ['a branchSummary message', { role: 'branchSummary', summary: 's', fromId: 'a1', timestamp: 6 }, 'other'],
  ['a custom message', { role: 'custom', customType: 'ext', content: 'x', display: true, timestamp: 7 }, 'other'],
]

const neutral: Case[] = [
  ['a user message', { type: 'message', role: 'user', content: 'hi' }, 'user_message'],
  ['an assistant message', { type: 'message', role: 'assistant', content: 'hello' }, 'assistant_message'],
  ['a message with another role', { type: 'message', role: 'tool', content: 'x' }, 'other'],
  ['a message without a role', { type: 'message', content: 'x' }, 'other'],
  ['a tool call', { type: 'tool_call', id: 't1', name: 'ls', arguments: {} }, 'tool_call'],
  ['a tool result', { type: 'tool_result', id: 't1', output: 'ok' }, 'tool_result'],
  ['reasoning', { type: 'reasoning', text: 'because' }, 'reasoning'],
]

const notItems: Case[] = [
  ['null', null, 'other'],
  ['undefined', undefined, 'other'],
  ['a string', 'user', 'other'],
  ['a number', 42, 'other'],
  ['a boolean', true, 'other'],
  ['an array of messages', [{ role: 'user', content: 'hi' }], 'other'],
  ['an empty object', {}, 'other'],
  ['a byte string', new Uint8Array([1]), 'other'],
]

describe('classifyItem', () => {
  it.each(openai)('OpenAI Responses: %s', (_name, item, expected) => {
    expect(classifyItem(item)).toBe(expected)
  })
  it.each(anthropic)('Anthropic: %s', (_name, item, expected) => {
    expect(classifyItem(item)).toBe(expected)
  })
  it.each(pi)('pi: %s', (_name, item, expected) => {
    expect(classifyItem(item)).toBe(expected)
  })
  it.each(neutral)('neutral shape: %s', (_name, item, expected) => {
    expect(classifyItem(item)).toBe(expected)
  })
  it.each(notItems)('non-item: %s -> other', (_name, item, expected) => {
    expect(classifyItem(item)).toBe(expected)
  })
})
